"""The durable queue's interface. State rules live here; backends only persist.

Every transition is a single conditional write in the backend (e.g. `in_queue -> cancelled` only
if still `in_queue`), so two processes can never both win the same job. This class turns "0 rows
changed" into the right exception and keeps ids, hashes and clocks in one place.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import hmac
import json
import math
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Protocol

from reelserve.errors import IdempotencyKeyReusedError, InvalidTransitionError, LeaseLostError, TooManyRequestsError
from reelserve.store.job import ApiKey, Job, Status, WorkerInfo

KEY_PREFIX = "rs_"
MAX_ATTEMPTS = 3  # claims a request gets before a worker dying under it counts as the request's fault
IDEMPOTENCY_TTL = timedelta(hours=24)
TOMBSTONE_TTL = timedelta(days=30)  # how long an expired id answers "expired" rather than "not found"
RATE_WINDOW = timedelta(minutes=1)
ACTIVE_LIMIT_RETRY_AFTER = 10  # seconds; a queued request's wait is unknowable, so a polite constant
INTERRUPTED_MESSAGE = (
    "This request was interrupted {attempts} times: the worker generating it stopped each time, so it was not "
    "retried again. Submit it again; if it keeps happening, this input may be what stops the worker."
)


def migration_scripts(dialect: str) -> list[tuple[int, str]]:
    """(version, SQL) of each script in migrations/<dialect>/, in order; `0002_name.sql` is version 2."""
    folder = resources.files("reelserve.store") / "migrations" / dialect
    scripts = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(int(p.name.split("_", 1)[0]), p.read_text()) for p in scripts]


def hash_api_key(plaintext: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def utcnow() -> datetime:
    return datetime.now(UTC)


def request_hash(model_id: str, input: dict[str, Any]) -> str:
    """What "the same body" means for an Idempotency-Key: the model and the validated input, key order aside."""
    return hashlib.sha256(json.dumps([model_id, input], sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class SubmitLimits:
    """Per-API-key admission limits; None means unlimited."""

    max_active: int | None = None  # requests queued or running at once
    per_minute: int | None = None  # submits in any rolling minute

    def check(self, tx: SubmitTransaction, owner: str, now: datetime) -> None:
        if self.max_active is not None and tx.active_count(owner) >= self.max_active:
            raise TooManyRequestsError(
                f"This API key already has {self.max_active} requests queued or running, the most allowed: "
                "wait for some to finish, then submit again.", retry_after=ACTIVE_LIMIT_RETRY_AFTER)
        if self.per_minute is not None:
            count, oldest = tx.submits_since(owner, now - RATE_WINDOW)
            if count >= self.per_minute and oldest is not None:
                wait = max(1, math.ceil((oldest + RATE_WINDOW - now).total_seconds()))
                raise TooManyRequestsError(
                    f"This API key may submit at most {self.per_minute} requests a minute: retry in {wait} s.",
                    retry_after=wait)


NO_LIMITS = SubmitLimits()


@dataclass(frozen=True)
class Reaped:
    """What one reaper pass did with jobs whose lease ran out."""

    requeued: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)


class SubmitTransaction(Protocol):
    """What a backend offers inside the one transaction that admits a job (see `JobStore.submit_request`)."""

    def idempotent_job(self, owner: str, key: str, since: datetime) -> tuple[str, str] | None:
        """(job id, request hash) recorded for this key since `since`, or None."""

    def active_count(self, owner: str) -> int: ...

    def submits_since(self, owner: str, since: datetime) -> tuple[int, datetime | None]:
        """How many jobs `owner` submitted since `since`, and when the oldest of them was."""

    def insert_job(self, job: Job) -> None: ...

    def record_idempotency(self, owner: str, key: str, digest: str, job_id: str, now: datetime) -> None:
        """Insert, or replace a record older than the TTL."""

    def get_job(self, job_id: str) -> Job: ...


# Columns `_set_running` may set; anything else is a programming error.
RUNNING_FIELDS = frozenset(
    {"status", "finished_at", "progress", "output_key", "metadata", "error_code", "error_message",
     "lease_owner", "lease_expires_at"}
)


def _new_key(name: str) -> tuple[ApiKey, str]:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    return ApiKey(id="key_" + secrets.token_hex(6), name=name, prefix=plaintext[:10], created_at=utcnow()), plaintext


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
        key, plaintext = _new_key(name)
        self._insert_key(key, hash_api_key(plaintext))
        return key, plaintext

    def create_first_key(self, name: str) -> tuple[ApiKey, str] | None:
        """Create a key only if none exists, atomically: of several API replicas starting together
        on an empty database, exactly one creates it. None when a key already existed."""
        key, plaintext = _new_key(name)
        return (key, plaintext) if self._insert_first_key(key, hash_api_key(plaintext)) else None

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

    def submit(self, owner: str, model_id: str, input: dict[str, Any], *, idempotency_key: str | None = None,
               limits: SubmitLimits = NO_LIMITS) -> Job:
        return self.submit_request(owner, model_id, input, idempotency_key=idempotency_key, limits=limits)[0]

    def submit_request(self, owner: str, model_id: str, input: dict[str, Any], *, idempotency_key: str | None = None,
                       limits: SubmitLimits = NO_LIMITS) -> tuple[Job, bool]:
        """Admit a job: (the job, True if it is an earlier one replayed for the same Idempotency-Key).

        The key lookup, the limit checks and the insert share one transaction, so concurrent
        duplicates make exactly one job and concurrent submits cannot overshoot a limit.
        """
        now = utcnow()
        # Only a keyed submit needs the body's hash: the common path skips serialising the input again.
        digest = request_hash(model_id, input) if idempotency_key is not None else None
        with self._submission(owner) as tx:
            if idempotency_key is not None:
                prior = tx.idempotent_job(owner, idempotency_key, now - IDEMPOTENCY_TTL)
                if prior is not None:
                    return self._replay(tx, *prior, digest), True
            limits.check(tx, owner, now)
            job = Job(id=str(uuid.uuid4()), owner=owner, model_id=model_id, input=input, status=Status.IN_QUEUE,
                      created_at=now)
            tx.insert_job(job)
            if idempotency_key is not None:
                tx.record_idempotency(owner, idempotency_key, digest, job.id, now)
        return job, False

    @staticmethod
    def _replay(tx: SubmitTransaction, job_id: str, prior_digest: str, digest: str | None) -> Job:
        if prior_digest != digest:
            raise IdempotencyKeyReusedError(detail=[{
                "loc": ["header", "Idempotency-Key"], "type": "idempotency_key_reused",
                "msg": f"already used for request {job_id} with a different body; send a new key"}])
        return tx.get_job(job_id)

    @abc.abstractmethod
    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        """The job, or None when it does not exist or belongs to another owner."""

    @abc.abstractmethod
    def queue_position(self, job: Job) -> int:
        """How many queued jobs are ahead of this one (0 = next to start)."""

    @abc.abstractmethod
    def was_expired(self, job_id: str, owner: str) -> bool:
        """True when `owner`'s job was purged by retention (recently enough to remember)."""

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
        if not self._set_running(job_id, worker_id, {"progress": progress}):
            raise LeaseLostError()

    def renew_lease(self, job_id: str, worker_id: str, lease_seconds: float) -> bool:
        """Extend the lease; False when this worker no longer holds it (reaped, then maybe claimed again)."""
        return self._set_running(job_id, worker_id, {"lease_expires_at": utcnow() + timedelta(seconds=lease_seconds)})

    def release(self, job_id: str, worker_id: str) -> bool:
        """Give a running job back to the queue at once (a worker shutting down); the attempt is not counted."""
        return self._release(job_id, worker_id)

    def reap_expired_leases(self, max_attempts: int = MAX_ATTEMPTS) -> Reaped:
        """Requeue running jobs whose lease ran out; fail those already claimed `max_attempts` times."""
        return self._reap(utcnow(), max_attempts, INTERRUPTED_MESSAGE.format(attempts=max_attempts))

    def complete(self, job_id: str, worker_id: str, output_key: str, metadata: dict[str, Any]) -> None:
        """Mark a leased job completed; fenced on the lease so a stale worker cannot publish."""
        fields = _finished(Status.COMPLETED, metadata, progress=100.0, output_key=output_key)
        if not self._set_running(job_id, worker_id, fields):
            raise LeaseLostError()

    def fail(self, job_id: str, worker_id: str, code: str, message: str, metadata: dict[str, Any]) -> None:
        if not code or not message:
            raise InvalidTransitionError("a failed job needs an error code and a message")
        fields = _finished(Status.FAILED, metadata, error_code=code, error_message=message)
        if not self._set_running(job_id, worker_id, fields):
            raise LeaseLostError()

    def _set_running(self, job_id: str, worker_id: str, fields: dict[str, Any]) -> bool:
        unknown = set(fields) - RUNNING_FIELDS
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        return self._update_running(job_id, worker_id, fields)

    # --- retention -----------------------------------------------------------------------------

    def finished_before(self, retention_seconds: float, limit: int = 500) -> list[Job]:
        """Up to `limit` finished jobs older than the retention period, oldest first."""
        return self._finished_before(utcnow() - timedelta(seconds=retention_seconds), limit)

    def expire(self, job_ids: list[str]) -> None:
        """Forget jobs whose media is already deleted, leaving a tombstone that answers "expired"."""
        now = utcnow()
        self._expire(job_ids, now)
        self._purge_bookkeeping(idempotency_before=now - IDEMPOTENCY_TTL, tombstones_before=now - TOMBSTONE_TTL)

    # --- workers -------------------------------------------------------------------------------

    def heartbeat_worker(self, worker_id: str, engine: dict[str, Any]) -> None:
        self._upsert_worker(worker_id, engine, utcnow())

    def live_workers(self, within_seconds: float) -> list[WorkerInfo]:
        return self._workers_seen_since(utcnow() - timedelta(seconds=within_seconds))

    def subscribe(self, on_new_job: Callable[[], None]) -> Callable[[], None]:
        """Call `on_new_job` (from another thread) whenever a job may have become claimable; returns
        the unsubscribe function. A hint only: workers still poll, so a backend without push (SQLite)
        subscribes no one and a missed notification costs at most one poll interval."""
        return lambda: None

    # --- what a backend persists ---------------------------------------------------------------

    @abc.abstractmethod
    def _insert_key(self, key: ApiKey, key_hash: str) -> None: ...

    @abc.abstractmethod
    def _insert_first_key(self, key: ApiKey, key_hash: str) -> bool:
        """Insert the key only if the table is empty, in one atomic step; True if inserted."""

    @abc.abstractmethod
    def _find_key_by_hash(self, key_hash: str) -> tuple[ApiKey, str] | None: ...

    @abc.abstractmethod
    def _revoke_key(self, key_id: str, now: datetime) -> bool: ...

    @abc.abstractmethod
    def _submission(self, owner: str) -> contextlib.AbstractContextManager[SubmitTransaction]:
        """One write transaction that serialises admissions for `owner`; rolled back if the body raises."""

    @abc.abstractmethod
    def _cancel_if_queued(self, job_id: str, owner: str, now: datetime) -> bool: ...

    @abc.abstractmethod
    def _claim_oldest(self, worker_id: str, now: datetime, lease_expires_at: datetime) -> Job | None: ...

    @abc.abstractmethod
    def _update_running(self, job_id: str, worker_id: str, fields: dict[str, Any]) -> bool:
        """Apply `fields` (names from RUNNING_FIELDS, already checked) only if the job is in_progress and
        leased to `worker_id`; True if it was."""

    @abc.abstractmethod
    def _release(self, job_id: str, worker_id: str) -> bool: ...

    @abc.abstractmethod
    def _reap(self, now: datetime, max_attempts: int, message: str) -> Reaped: ...

    @abc.abstractmethod
    def _finished_before(self, cutoff: datetime, limit: int) -> list[Job]: ...

    @abc.abstractmethod
    def _expire(self, job_ids: list[str], now: datetime) -> None: ...

    @abc.abstractmethod
    def _purge_bookkeeping(self, idempotency_before: datetime, tombstones_before: datetime) -> None: ...

    @abc.abstractmethod
    def _upsert_worker(self, worker_id: str, engine: dict[str, Any], now: datetime) -> None: ...

    @abc.abstractmethod
    def _workers_seen_since(self, since: datetime) -> list[WorkerInfo]: ...
