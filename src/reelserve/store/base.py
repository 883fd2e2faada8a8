"""The durable queue's interface. State rules live here; backends only persist.

Every transition is a single conditional write in the backend (e.g. `in_queue -> cancelled` only
if still `in_queue`), so two processes can never both win the same job. This class turns "0 rows
changed" into the right exception and keeps ids, hashes and clocks in one place.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from reelserve.errors import InvalidTransitionError, LeaseLostError
from reelserve.store.job import ApiKey, Job, Status, WorkerInfo

KEY_PREFIX = "rs_"


def hash_api_key(plaintext: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _finished(status: Status, metadata: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Columns every terminal write sets: the state, when, what was produced, and the lease released."""
    return {"status": status.value, "finished_at": utcnow(), "metadata": metadata,
            "lease_owner": None, "lease_expires_at": None, **extra}


class JobStore(abc.ABC):
    """A durable queue of jobs plus the API keys that own them."""

    # --- lifecycle ---------------------------------------------------------------------------

    @abc.abstractmethod
    def migrate(self) -> None:
        """Create or upgrade the schema; safe to call from several processes at once."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # --- API keys ------------------------------------------------------------------------------

    def create_key(self, name: str) -> tuple[ApiKey, str]:
        """Create a key; returns it and its plaintext, which is never stored and never shown again."""
        plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(id="key_" + secrets.token_hex(6), name=name, prefix=plaintext[:10], created_at=utcnow())
        self._insert_key(key, hash_api_key(plaintext))
        return key, plaintext

    def authenticate(self, plaintext: str) -> ApiKey | None:
        """The active key matching `plaintext`, or None."""
        if not plaintext.startswith(KEY_PREFIX):
            return None
        digest = hash_api_key(plaintext)
        found = self._find_key_by_hash(digest)
        if found is None:
            return None
        key, stored_digest = found
        # The lookup is by index; the final equality is constant-time all the same.
        if not hmac.compare_digest(stored_digest, digest) or not key.active:
            return None
        return key

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key; False when there is no such active key."""
        return self._revoke_key(key_id, utcnow())

    @abc.abstractmethod
    def list_keys(self) -> list[ApiKey]: ...

    # --- jobs: the API side ------------------------------------------------------------------

    def submit(self, owner: str, model_id: str, input: dict[str, Any]) -> Job:
        job = Job(
            id=str(uuid.uuid4()),
            owner=owner,
            model_id=model_id,
            input=input,
            status=Status.IN_QUEUE,
            created_at=utcnow(),
        )
        self._insert_job(job)
        return job

    @abc.abstractmethod
    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        """The job, or None when it does not exist or belongs to another owner."""

    @abc.abstractmethod
    def queue_position(self, job: Job) -> int:
        """How many queued jobs are ahead of this one (0 = next to start)."""

    def cancel(self, job_id: str, owner: str) -> Job | None:
        """Cancel the job if it is still queued (one conditional write); returns it as it now is."""
        self._cancel_if_queued(job_id, owner, utcnow())
        return self.get(job_id, owner)

    # --- jobs: the worker side -----------------------------------------------------------------

    def claim(self, worker_id: str, lease_seconds: float) -> Job | None:
        """Atomically take the oldest queued job and lease it to `worker_id`."""
        now = utcnow()
        return self._claim_oldest(worker_id, now, now + timedelta(seconds=lease_seconds))

    def set_progress(self, job_id: str, worker_id: str, progress: float) -> None:
        progress = min(100.0, max(0.0, float(progress)))
        if not self._update_running(job_id, worker_id, {"progress": progress}):
            raise LeaseLostError()

    def complete(self, job_id: str, worker_id: str, output_key: str, metadata: dict[str, Any]) -> None:
        """Mark a leased job completed; fenced on the lease so a stale worker cannot publish."""
        fields = _finished(Status.COMPLETED, metadata, progress=100.0, output_key=output_key)
        if not self._update_running(job_id, worker_id, fields):
            raise LeaseLostError()

    def fail(self, job_id: str, worker_id: str, code: str, message: str, metadata: dict[str, Any]) -> None:
        if not code or not message:
            raise InvalidTransitionError("a failed job needs an error code and a message")
        fields = _finished(Status.FAILED, metadata, error_code=code, error_message=message)
        if not self._update_running(job_id, worker_id, fields):
            raise LeaseLostError()

    # --- workers -------------------------------------------------------------------------------

    def heartbeat_worker(self, worker_id: str, engine: dict[str, Any]) -> None:
        self._upsert_worker(worker_id, engine, utcnow())

    def live_workers(self, within_seconds: float) -> list[WorkerInfo]:
        return self._workers_seen_since(utcnow() - timedelta(seconds=within_seconds))

    # --- what a backend persists ---------------------------------------------------------------

    @abc.abstractmethod
    def _insert_key(self, key: ApiKey, key_hash: str) -> None: ...

    @abc.abstractmethod
    def _find_key_by_hash(self, key_hash: str) -> tuple[ApiKey, str] | None: ...

    @abc.abstractmethod
    def _revoke_key(self, key_id: str, now: datetime) -> bool: ...

    @abc.abstractmethod
    def _insert_job(self, job: Job) -> None: ...

    @abc.abstractmethod
    def _cancel_if_queued(self, job_id: str, owner: str, now: datetime) -> bool: ...

    @abc.abstractmethod
    def _claim_oldest(self, worker_id: str, now: datetime, lease_expires_at: datetime) -> Job | None: ...

    @abc.abstractmethod
    def _update_running(self, job_id: str, worker_id: str, fields: dict[str, Any]) -> bool:
        """Apply `fields` only if the job is in_progress and leased to `worker_id`; True if it was."""

    @abc.abstractmethod
    def _upsert_worker(self, worker_id: str, engine: dict[str, Any], now: datetime) -> None: ...

    @abc.abstractmethod
    def _workers_seen_since(self, since: datetime) -> list[WorkerInfo]: ...
