"""The durable queue: its public methods, its rules, and the named queries it runs.

State rules live in two places that read together: the conditional writes in `queries/common.sql`
(a transition happens only from the state it allows, so two processes can never both win a job)
and this class, which turns "0 rows changed" into the right exception and keeps ids, hashes and
clocks in one place. Rows become `Job`s here, and the one transaction that admits a job is written
here. A backend supplies only connections, transactions, locks, and how its columns hold times,
JSON and lists (`sqlite.py`, `postgres.py`).
"""

from __future__ import annotations

import abc
import contextlib
import functools
import hashlib
import hmac
import json
import math
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, ClassVar

import aiosql

from reelserve import metrics
from reelserve.errors import IdempotencyKeyReusedError, InvalidTransitionError, LeaseLostError, TooManyRequestsError
from reelserve.store import wake
from reelserve.store.job import ApiKey, HistoryPage, Job, Status, WorkerInfo

KEY_PREFIX = "rs_"
HISTORY_START = 2**62  # above every seq: the first page of a history
MAX_ATTEMPTS = 3  # claims a request gets before a worker dying under it counts as the request's fault
IDEMPOTENCY_TTL = timedelta(hours=24)
TOMBSTONE_TTL = timedelta(days=30)  # how long an expired id answers "expired" rather than "not found"
RATE_WINDOW = timedelta(minutes=1)
ACTIVE_LIMIT_RETRY_AFTER = 10  # seconds; a queued request's wait is unknowable, so a polite constant
INTERRUPTED_MESSAGE = (
    "This request was interrupted {attempts} times: the worker generating it stopped each time, so it was not "
    "retried again. Submit it again; if it keeps happening, this input may be what stops the worker."
)
DRIVERS = {"sqlite": "sqlite3", "postgres": "psycopg"}  # dialect -> aiosql driver

Row = Mapping[str, Any]
Connection = Any  # a sqlite3 or psycopg connection, as the backend hands it out


def migration_scripts(dialect: str) -> list[tuple[int, str]]:
    """(version, SQL) of each script in migrations/<dialect>/, in order; `0002_name.sql` is version 2."""
    folder = resources.files("reelserve.store") / "migrations" / dialect
    scripts = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(int(p.name.split("_", 1)[0]), p.read_text()) for p in scripts]


@functools.cache
def load_queries(dialect: str) -> aiosql.queries.Queries:
    """queries/common.sql plus the dialect's own file: each name defined once (a repeat fails to load)."""
    folder = resources.files("reelserve.store") / "queries"
    text = "\n".join((folder / name).read_text() for name in ("common.sql", f"{dialect}.sql"))
    return aiosql.from_str(text, DRIVERS[dialect])


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

    @property
    def counted(self) -> bool:
        """Whether admission counts anything (and so must take the key's turn)."""
        return self.max_active is not None or self.per_minute is not None

    def check(self, admission: Admission, owner: str, now: datetime) -> None:
        if self.max_active is not None and admission.active_count(owner) >= self.max_active:
            raise TooManyRequestsError(
                f"This API key already has {self.max_active} requests queued or running, the most allowed: "
                "wait for some to finish, then submit again.", retry_after=ACTIVE_LIMIT_RETRY_AFTER)
        if self.per_minute is not None:
            count, oldest = admission.submits_since(owner, now - RATE_WINDOW)
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


def _new_key(name: str) -> tuple[ApiKey, str]:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    return ApiKey(id="key_" + secrets.token_hex(6), name=name, prefix=plaintext[:10], created_at=utcnow()), plaintext


class JobStore(abc.ABC):
    """A durable queue of jobs plus the API keys that own them."""

    dialect: ClassVar[str]  # names the queries/<dialect>.sql and migrations/<dialect>/ this backend runs

    def __init__(self) -> None:
        self._queries = load_queries(self.dialect)
        self._wakes = threading.local()  # `pending`: this thread's open transaction made a job claimable

    # --- lifecycle ---------------------------------------------------------------------------

    def migrate(self) -> None:
        """Create or upgrade the schema; safe to call from several processes at once."""
        with self._transaction() as conn:
            self._exclusive(conn, "migrations")  # the first process migrates; the rest wait and find it done
            self._run(conn, "create_migrations_table")
            done = {row["version"] for row in self._rows(conn, "applied_migrations")}
            for version, script in migration_scripts(self.dialect):
                if version not in done:
                    self._run_script(conn, script)
                    self._run(conn, "record_migration", version=version, now=utcnow())

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # --- API keys ------------------------------------------------------------------------------

    def create_key(self, name: str) -> tuple[ApiKey, str]:
        """Create a key; returns it and its plaintext, which is never stored and never shown again."""
        key, plaintext = _new_key(name)
        with self._statement() as conn:
            self._run(conn, "insert_key", **self._key_columns(key, plaintext))
        return key, plaintext

    def create_first_key(self, name: str) -> tuple[ApiKey, str] | None:
        """Create a key only if none exists, atomically: of several API replicas starting together
        on an empty database, exactly one creates it. None when a key already existed."""
        key, plaintext = _new_key(name)
        with self._transaction() as conn:
            self._exclusive(conn, "first-key")
            created = self._run(conn, "insert_first_key", **self._key_columns(key, plaintext)) == 1
        return (key, plaintext) if created else None

    @staticmethod
    def _key_columns(key: ApiKey, plaintext: str) -> dict[str, Any]:
        return {"id": key.id, "name": key.name, "key_hash": hash_api_key(plaintext), "prefix": key.prefix,
                "created_at": key.created_at}

    def authenticate(self, plaintext: str) -> ApiKey | None:
        """The active key matching `plaintext`, or None."""
        if not plaintext.startswith(KEY_PREFIX):
            return None
        digest = hash_api_key(plaintext)
        row = self._read_row("key_by_hash", key_hash=digest)
        # The lookup is by index; the final equality is constant-time all the same.
        if row is None or not hmac.compare_digest(row["key_hash"], digest):
            return None
        key = self._key(row)
        return key if key.active else None

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key; False when there is no such active key."""
        return self._write("revoke_key", id=key_id, now=utcnow()) == 1

    def list_keys(self) -> list[ApiKey]:
        with self._connection() as conn:
            return [self._key(row) for row in self._rows(conn, "list_keys")]

    # --- jobs: the API side ------------------------------------------------------------------

    def submit_request(self, owner: str, model_id: str, input: dict[str, Any], *, idempotency_key: str | None = None,
                       limits: SubmitLimits = NO_LIMITS) -> tuple[Job, bool]:
        """Admit a job: (the job, True if it is an earlier one replayed for the same Idempotency-Key).

        The key lookup, the limit checks and the insert share one transaction, so concurrent
        duplicates make exactly one job and concurrent submits cannot overshoot a limit.
        """
        now = utcnow()
        # Only a keyed submit needs the body's hash: the common path skips serialising the input again.
        digest = request_hash(model_id, input) if idempotency_key is not None else None
        with self._transaction() as conn:
            if idempotency_key is not None or limits.counted:
                # Admissions for one key take turns so its counts and Idempotency-Key lookups are exact;
                # other keys never wait, and a submit with nothing to count skips the turn (a round trip).
                self._exclusive(conn, owner)
            admission = Admission(self, conn)
            if idempotency_key is not None:
                prior = admission.idempotent_job(owner, idempotency_key, now - IDEMPOTENCY_TTL)
                if prior is not None:
                    return self._replay(admission, *prior, digest), True
            limits.check(admission, owner, now)
            job = Job(id=str(uuid.uuid4()), owner=owner, model_id=model_id, input=input, status=Status.IN_QUEUE,
                      created_at=now)
            admission.insert_job(job)
            if idempotency_key is not None:
                admission.record_idempotency(owner, idempotency_key, digest, job.id, now)
        return job, False

    @staticmethod
    def _replay(admission: Admission, job_id: str, prior_digest: str, digest: str | None) -> Job:
        if prior_digest != digest:
            raise IdempotencyKeyReusedError(detail=[{
                "loc": ["header", "Idempotency-Key"], "type": "idempotency_key_reused",
                "msg": f"already used for request {job_id} with a different body; send a new key"}])
        return admission.get_job(job_id)

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        """The job, or None when it does not exist or belongs to another owner."""
        if owner is None:
            row = self._read_row("get_job", id=job_id)
        else:
            row = self._read_row("get_owned_job", id=job_id, owner=owner)
        return None if row is None else self._job(row)

    def get_with_position(self, job_id: str, owner: str) -> tuple[Job, int | None] | None:
        """What a status poll needs, in one query: `owner`'s job and, while it is queued, how many queued
        jobs are ahead of it (None otherwise); None when there is no such job of theirs."""
        row = self._read_row("get_owned_job_with_position", id=job_id, owner=owner)
        return None if row is None else (self._job(row), row["ahead"])

    def history(self, owner: str, limit: int, before: int | None = None) -> HistoryPage:
        """`owner`'s requests, newest first, `limit` at a time; `before` is a page's `next_before`."""
        with self._connection() as conn:
            rows = self._rows(conn, "history_page", owner=owner, before=before or HISTORY_START, limit=limit + 1)
        jobs = [self._job(row) for row in rows[:limit]]
        return HistoryPage(jobs, jobs[-1].seq if len(rows) > limit else None)

    def active_counts(self) -> dict[tuple[str, Status], int]:
        """Jobs queued and in progress, by (model id, status): what /metrics reports as queue depth."""
        with self._connection() as conn:
            return {(row["model_id"], Status(row["status"])): row["jobs"] for row in self._rows(conn, "active_by_model")}

    def was_expired(self, job_id: str, owner: str) -> bool:
        """True when `owner`'s job was purged by retention (recently enough to remember)."""
        return self._read_row("was_expired", id=job_id, owner=owner) is not None

    def cancel(self, job_id: str, owner: str) -> Job | None:
        """Cancel the job if it is still queued (one conditional write); returns it as it now is."""
        cancelled = self._write("cancel_if_queued", id=job_id, owner=owner, now=utcnow())
        job = self.get(job_id, owner)
        if cancelled and job is not None:  # counted once, by the call that cancelled it
            metrics.OUTCOMES.labels(job.model_id, "cancelled", "").inc()
        return job

    # --- jobs: the worker side -----------------------------------------------------------------

    def claim(self, worker_id: str, lease_seconds: float) -> Job | None:
        """Atomically take the oldest queued job and lease it to `worker_id`."""
        now = utcnow()
        with self._statement() as conn:
            row = self._row(conn, "claim_oldest", worker=worker_id, now=now,
                            expires=now + timedelta(seconds=lease_seconds))
        return None if row is None else self._job(row)

    def set_progress(self, job_id: str, worker_id: str, progress: float) -> None:
        progress = min(100.0, max(0.0, float(progress)))
        self._fenced("set_progress", id=job_id, worker=worker_id, progress=progress)

    def renew_lease(self, job_id: str, worker_id: str, lease_seconds: float) -> bool:
        """Extend the lease; False when this worker no longer holds it (reaped, then maybe claimed again)."""
        expires = utcnow() + timedelta(seconds=lease_seconds)
        return self._write("renew_lease", id=job_id, worker=worker_id, expires=expires) == 1

    def release(self, job_id: str, worker_id: str) -> bool:
        """Give a running job back to the queue at once (a worker shutting down); the attempt is not counted."""
        with self._transaction() as conn:
            released = self._run(conn, "release_job", id=job_id, worker=worker_id) == 1
            if released:
                self._claimable(conn)
        return released

    def reap_expired_leases(self, max_attempts: int = MAX_ATTEMPTS) -> Reaped:
        """Requeue running jobs whose lease ran out; fail those already claimed `max_attempts` times."""
        now, message = utcnow(), INTERRUPTED_MESSAGE.format(attempts=max_attempts)
        with self._transaction() as conn:
            interrupted = self._rows(conn, "reap_interrupted", now=now, message=message, max_attempts=max_attempts)
            requeued = self._rows(conn, "reap_requeue", now=now)
            if requeued:
                self._claimable(conn)
        return Reaped(requeued=[r["id"] for r in requeued], interrupted=[r["id"] for r in interrupted])

    def complete(self, job_id: str, worker_id: str, output_key: str, metadata: dict[str, Any],
                 poster_key: str | None = None) -> None:
        """Mark a leased job completed; fenced on the lease so a stale worker cannot publish."""
        self._fenced("complete_job", id=job_id, worker=worker_id, now=utcnow(), output_key=output_key,
                     poster_key=poster_key, metadata=metadata)

    def fail(self, job_id: str, worker_id: str, code: str, message: str, metadata: dict[str, Any]) -> None:
        if not code or not message:
            raise InvalidTransitionError("a failed job needs an error code and a message")
        self._fenced("fail_job", id=job_id, worker=worker_id, now=utcnow(), code=code, message=message,
                     metadata=metadata)

    def _fenced(self, query: str, **params: Any) -> None:
        """A write only the lease holder may make; LeaseLostError when this worker no longer holds it."""
        if self._write(query, **params) != 1:
            raise LeaseLostError()

    # --- retention -----------------------------------------------------------------------------

    def finished_before(self, retention_seconds: float, limit: int = 500) -> list[Job]:
        """Up to `limit` finished jobs older than the retention period, oldest first."""
        cutoff = utcnow() - timedelta(seconds=retention_seconds)
        with self._connection() as conn:
            return [self._job(row) for row in self._rows(conn, "finished_before", cutoff=cutoff, limit=limit)]

    def expire(self, job_ids: list[str]) -> None:
        """Forget jobs whose media is already deleted, leaving a tombstone that answers "expired"."""
        now = utcnow()
        with self._transaction() as conn:
            self._run(conn, "tombstone_jobs", ids=job_ids, now=now)
            self._run(conn, "delete_jobs", ids=job_ids)
        with self._transaction() as conn:
            self._run(conn, "purge_idempotency", before=now - IDEMPOTENCY_TTL)
            self._run(conn, "purge_tombstones", before=now - TOMBSTONE_TTL)

    # --- workers -------------------------------------------------------------------------------

    def heartbeat_worker(self, worker_id: str, engine: dict[str, Any]) -> None:
        self._write("upsert_worker", id=worker_id, engine=engine, now=utcnow())

    def live_workers(self, within_seconds: float) -> list[WorkerInfo]:
        since = utcnow() - timedelta(seconds=within_seconds)
        with self._connection() as conn:
            return [self._worker(row) for row in self._rows(conn, "workers_since", since=since)]

    def subscribe(self, on_new_job: Callable[[], None]) -> Callable[[], None]:
        """Call `on_new_job` (from another thread) whenever a job may have become claimable; returns
        the unsubscribe function. A commit in this process calls it directly; one in another process
        reaches it through the backend's push (PostgreSQL: LISTEN/NOTIFY; SQLite: store/wake.py). A
        hint only: workers still poll, so a missed notification costs at most one poll interval."""
        stop_local = wake.local_subscribe(self._queue_identity(), on_new_job)
        stop_push = self._subscribe_push(on_new_job)

        def stop() -> None:
            stop_local()
            stop_push()

        return stop

    # --- running the named queries -------------------------------------------------------------

    def _run(self, conn: Connection, query: str, **params: Any) -> Any:
        """Run one named query with its parameters in the backend's column types; what aiosql returns."""
        return getattr(self._queries, query)(conn, **{name: self._to_db(value) for name, value in params.items()})

    def _row(self, conn: Connection, query: str, **params: Any) -> Row | None:
        return self._run(conn, query, **params)

    def _rows(self, conn: Connection, query: str, **params: Any) -> list[Row]:
        # Drained at once: a SQLite cursor left open across a write makes that write fail (a stale snapshot).
        return list(self._run(conn, query, **params))

    def _read_row(self, query: str, **params: Any) -> Row | None:
        with self._connection() as conn:
            return self._row(conn, query, **params)

    def _write(self, query: str, **params: Any) -> int:
        """One write statement on its own; the number of rows it changed."""
        with self._statement() as conn:
            return self._run(conn, query, **params)

    # --- rows into values ----------------------------------------------------------------------

    def _job(self, row: Row) -> Job:
        time, data = self._from_db_time, self._from_db_json
        return Job(
            id=row["id"], owner=row["owner"], model_id=row["model_id"], input=data(row["input"]),
            status=Status(row["status"]), created_at=time(row["created_at"]), started_at=time(row["started_at"]),
            finished_at=time(row["finished_at"]), attempts=row["attempts"], lease_owner=row["lease_owner"],
            lease_expires_at=time(row["lease_expires_at"]), progress=row["progress"], output_key=row["output_key"],
            error_code=row["error_code"], error_message=row["error_message"], metadata=data(row["metadata"]),
            poster_key=row["poster_key"], seq=row["seq"],
        )

    def _key(self, row: Row) -> ApiKey:
        return ApiKey(id=row["id"], name=row["name"], prefix=row["prefix"],
                      created_at=self._from_db_time(row["created_at"]), revoked_at=self._from_db_time(row["revoked_at"]))

    def _worker(self, row: Row) -> WorkerInfo:
        return WorkerInfo(row["id"], self._from_db_json(row["engine"]), self._from_db_time(row["started_at"]),
                          self._from_db_time(row["last_seen_at"]))

    # --- what a backend supplies ---------------------------------------------------------------

    @abc.abstractmethod
    def _connection(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for reads."""

    @abc.abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Connection]:
        """One write transaction, committed when the body returns and rolled back if it raises."""

    def _statement(self) -> contextlib.AbstractContextManager[Connection]:
        """Where a write of one statement runs: a transaction, unless the backend's connections
        already commit each statement atomically on their own."""
        return self._transaction()

    def _exclusive(self, conn: Connection, name: str) -> None:  # noqa: B027 - optional hook
        """Hold a lock named `name` until the transaction ends. A backend whose write transactions
        already exclude one another (SQLite's one write lock) has nothing to do."""

    def _claimable(self, conn: Connection) -> None:
        """A job became claimable in this transaction: subscribers are woken once it commits."""
        self._wakes.pending = True
        self._push_in_transaction(conn)

    def _began(self) -> None:
        """A backend's `_transaction` calls this as it begins, and `_committed` once it has committed."""
        self._wakes.pending = False

    def _committed(self) -> None:
        if getattr(self._wakes, "pending", False):
            self._wakes.pending = False
            wake.local_notify(self._queue_identity())
            self._push_after_commit()

    @abc.abstractmethod
    def _queue_identity(self) -> str:
        """What names this queue for every store object in this process that opens it (a path, a URL)."""

    def _subscribe_push(self, on_new_job: Callable[[], None]) -> Callable[[], None]:
        """Hear other processes' claimable commits; returns the stop function. No push: polling only."""
        return lambda: None

    def _push_in_transaction(self, conn: Connection) -> None:  # noqa: B027 - optional hook
        """Tell other processes, delivered only if the transaction commits (PostgreSQL's NOTIFY)."""

    def _push_after_commit(self) -> None:  # noqa: B027 - optional hook
        """Tell other processes once committed (SQLite's datagrams)."""

    @abc.abstractmethod
    def _run_script(self, conn: Connection, script: str) -> None:
        """Run a migration script, several statements, inside the open transaction."""

    @abc.abstractmethod
    def _to_db(self, value: Any) -> Any:
        """A parameter as the backend's columns hold it: datetimes, dicts (JSON) and lists need it."""

    @abc.abstractmethod
    def _from_db_time(self, value: Any) -> datetime | None: ...

    @abc.abstractmethod
    def _from_db_json(self, value: Any) -> Any: ...


class Admission:
    """What `submit_request` and `SubmitLimits` read and write inside the one transaction that admits a job."""

    def __init__(self, store: JobStore, conn: Connection) -> None:
        self._store = store
        self._conn = conn

    def idempotent_job(self, owner: str, key: str, since: datetime) -> tuple[str, str] | None:
        """(job id, request hash) recorded for this key since `since`, or None."""
        row = self._store._row(self._conn, "idempotent_job", owner=owner, key=key, since=since)
        return None if row is None else (row["job_id"], row["request_hash"])

    def active_count(self, owner: str) -> int:
        return self._store._row(self._conn, "active_count", owner=owner)["active"]

    def submits_since(self, owner: str, since: datetime) -> tuple[int, datetime | None]:
        """How many jobs `owner` submitted since `since`, and when the oldest of them was."""
        row = self._store._row(self._conn, "submits_since", owner=owner, since=since)
        return row["submits"], self._store._from_db_time(row["oldest"])

    def insert_job(self, job: Job) -> None:
        self._store._run(self._conn, "insert_job", id=job.id, owner=job.owner, model_id=job.model_id,
                         input=job.input, created_at=job.created_at)
        self._store._claimable(self._conn)

    def record_idempotency(self, owner: str, key: str, digest: str, job_id: str, now: datetime) -> None:
        """Insert, or replace a record older than the TTL."""
        self._store._run(self._conn, "record_idempotency", owner=owner, key=key, request_hash=digest, job_id=job_id,
                         now=now)

    def get_job(self, job_id: str) -> Job:
        return self._store._job(self._store._row(self._conn, "get_job", id=job_id))
