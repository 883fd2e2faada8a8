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
from reelserve.errors import FailureCode, IdempotencyKeyReusedError, InvalidTransitionError, LeaseLostError, TooManyRequestsError
from reelserve.store import wake
from reelserve.store.job import (OPTIONAL_EVENTS, ApiKey, DeliveryState, HistoryPage, Job, Status, Webhook, WebhookAttempt,
                                 WebhookDelivery, WebhookEvent, WorkerInfo)
from reelserve.webhooks import EventType, new_secret

KEY_PREFIX = "rs_"
HISTORY_START = 2**62  # above every seq: the first page of a history
MAX_ATTEMPTS = 3  # claims a request gets before a worker dying under it counts as the request's fault
IDEMPOTENCY_TTL = timedelta(hours=24)
TOMBSTONE_TTL = timedelta(days=30)  # how long an expired id answers "expired" rather than "not found"
NO_SHARE = 2**31 - 1  # a webhook claim's `per_owner` when the caller sets none: any number of one key's events
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


def request_hash(model_id: str, input: dict[str, Any], webhook: Webhook | None = None) -> str:
    """What "the same body" means for an Idempotency-Key: the model and the validated input, key order
    aside, and the webhook when there is one (so hashes recorded before webhooks existed still match)."""
    parts: list[Any] = [model_id, input]
    if webhook is not None:
        parts.append([webhook.url, sorted(webhook.events)])
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def event_id(job_id: str, kind: str) -> str:
    """The `webhook-id` of a job's `kind` event: fixed, so nothing can make a second one."""
    return f"msg_{job_id}_{kind}"


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
        self._wakes = threading.local()  # `pending`: the (topic, payload) news of this thread's open transaction

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
                       limits: SubmitLimits = NO_LIMITS, webhook: Webhook | None = None) -> tuple[Job, bool]:
        """Admit a job: (the job, True if it is an earlier one replayed for the same Idempotency-Key).

        The key lookup, the limit checks and the insert share one transaction, so concurrent
        duplicates make exactly one job and concurrent submits cannot overshoot a limit.
        """
        now = utcnow()
        # Only a keyed submit needs the body's hash: the common path skips serialising the input again.
        digest = request_hash(model_id, input, webhook) if idempotency_key is not None else None
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
                      created_at=now, webhook=webhook)
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
            # `before` 0 is a cursor too (nothing is older): only None is the first page.
            start = HISTORY_START if before is None else before
            rows = self._rows(conn, "history_page", owner=owner, before=start, limit=limit + 1)
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
        now = utcnow()

        def write() -> bool:  # a conditional write: safe to run once more on a cut connection
            with self._transaction() as conn:
                done = self._run(conn, "cancel_if_queued", id=job_id, owner=owner, now=now) == 1
                if done:
                    self._changed(conn, wake.QUEUE_MOVED)
                    self._announce(conn, job_id, "cancelled", now)
            return done

        cancelled = self._retried(write)
        job = self.get(job_id, owner)
        if cancelled and job is not None:  # counted once, by the call that cancelled it
            metrics.OUTCOMES.labels(job.model_id, "cancelled", "").inc()
        return job

    # --- jobs: the worker side -----------------------------------------------------------------

    def claim(self, worker_id: str, lease_seconds: float) -> Job | None:
        """Atomically take the oldest queued job and lease it to `worker_id`."""
        now = utcnow()
        with self._transaction() as conn:
            row = self._row(conn, "claim_oldest", worker=worker_id, now=now,
                            expires=now + timedelta(seconds=lease_seconds))
            if row is not None:
                self._changed(conn, wake.QUEUE_MOVED)
                if row["webhook_url"] is not None:
                    self._announce(conn, row["id"], "started", now)
        return None if row is None else self._job(row)

    def set_progress(self, job_id: str, worker_id: str, progress: float) -> None:
        progress = min(100.0, max(0.0, float(progress)))
        self._fenced("set_progress", job_id, {"worker": worker_id, "progress": progress})

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
                self._changed(conn, wake.QUEUE_MOVED)
        return released

    def reap_expired_leases(self, max_attempts: int = MAX_ATTEMPTS) -> Reaped:
        """Requeue running jobs whose lease ran out; fail those already claimed `max_attempts` times."""
        now, message = utcnow(), INTERRUPTED_MESSAGE.format(attempts=max_attempts)
        with self._transaction() as conn:
            interrupted = self._rows(conn, "reap_interrupted", now=now, code=FailureCode.INTERRUPTED.value,
                                     message=message, max_attempts=max_attempts)
            requeued = self._rows(conn, "reap_requeue", now=now)
            for row in interrupted:
                self._changed(conn, row["id"])
                self._announce(conn, row["id"], "failed", now)
            if requeued:
                self._claimable(conn)
                self._changed(conn, wake.QUEUE_MOVED)
        return Reaped(requeued=[r["id"] for r in requeued], interrupted=[r["id"] for r in interrupted])

    def complete(self, job_id: str, worker_id: str, output_key: str, metadata: dict[str, Any],
                 poster_key: str | None = None) -> None:
        """Mark a leased job completed; fenced on the lease so a stale worker cannot publish."""
        self._fenced("complete_job", job_id, {"worker": worker_id, "now": utcnow(), "output_key": output_key,
                                              "poster_key": poster_key, "metadata": metadata}, announce="completed")

    def fail(self, job_id: str, worker_id: str, code: str, message: str, metadata: dict[str, Any]) -> None:
        if not code or not message:
            raise InvalidTransitionError("a failed job needs an error code and a message")
        self._fenced("fail_job", job_id, {"worker": worker_id, "now": utcnow(), "code": code, "message": message,
                                          "metadata": metadata}, announce="failed")

    def _fenced(self, query: str, job_id: str, params: dict[str, Any], announce: str | None = None) -> None:
        """A write only the lease holder may make, telling whoever follows the job and writing the
        `announce` event (at `params["now"]`), all in one transaction; LeaseLostError when this worker
        no longer holds the lease."""

        def write() -> None:
            with self._transaction() as conn:
                if self._run(conn, query, id=job_id, **params) != 1:
                    raise LeaseLostError()
                self._changed(conn, job_id)
                if announce is not None:
                    self._announce(conn, job_id, announce, params["now"])

        self._retried(write)

    # --- webhooks ------------------------------------------------------------------------------

    def _announce(self, conn: Connection, job_id: str, kind: str, now: datetime) -> None:
        """Write the job's `kind` event into the outbox, in the caller's transaction (nothing when the
        job has no webhook, asked not to hear of `kind`, or already announced it)."""
        asked = f"%,{kind},%" if kind in OPTIONAL_EVENTS else "%"
        if self._run(conn, "enqueue_webhook", id=event_id(job_id, kind), job_id=job_id, type=EventType.of(kind).value,
                     asked=asked, now=now) == 1:
            self._signal(conn, wake.WEBHOOKS)

    def webhook_secret(self, key_id: str) -> str:
        """The key's webhook signing secret (`whsec_...`), made on first use."""
        row = self._read_row("webhook_secret_of", id=key_id)
        if row is not None and row["webhook_secret"]:
            return str(row["webhook_secret"])
        self._write("set_webhook_secret_if_none", id=key_id, secret=new_secret())
        return str(self._read_row("webhook_secret_of", id=key_id)["webhook_secret"])

    def rotate_webhook_secret(self, key_id: str) -> str | None:
        """Replace the key's signing secret; the new one, or None when there is no such active key.
        Attempts from now on are signed with it, retries of older events included."""
        secret = new_secret()
        return secret if self._write("set_webhook_secret", id=key_id, secret=secret) == 1 else None

    def claim_webhook_events(self, lease_owner: str, limit: int, lease_seconds: float,
                             per_owner: int | None = None) -> list[WebhookEvent]:
        """Lease up to `limit` due events to `lease_owner`, so that it then holds at most `per_owner` of
        any one key's (counting the leases it holds already): one key's slow receivers cannot take every
        delivery thread. Keys take turns, the fewest held first, each key's oldest due first."""
        now = utcnow()
        with self._statement() as conn:
            rows = self._rows(conn, "claim_webhook_events", lease_owner=lease_owner, now=now,
                              expires=now + timedelta(seconds=lease_seconds), limit=limit,
                              per_owner=NO_SHARE if per_owner is None else per_owner)
        return [self._event(row) for row in rows]

    def record_webhook_attempt(self, event: WebhookEvent, lease_owner: str, attempt: WebhookAttempt,
                               next_attempt_at: datetime | None) -> bool:
        """Keep an attempt's outcome and settle the event: delivered on a 2xx, else due again at
        `next_attempt_at`, or failed when that is None. False (nothing kept) when `lease_owner` no
        longer holds the event's lease."""
        if attempt.delivered:
            state = DeliveryState.DELIVERED
        else:
            state = DeliveryState.PENDING if next_attempt_at is not None else DeliveryState.FAILED
        with self._transaction() as conn:
            if self._run(conn, "settle_webhook_event", id=event.id, lease_owner=lease_owner, attempts=attempt.attempt,
                         state=state.value, next_attempt_at=next_attempt_at) != 1:
                return False
            self._run(conn, "insert_webhook_attempt", event_id=event.id, attempt=attempt.attempt, at=attempt.at,
                      status_code=attempt.status_code, latency_ms=attempt.latency_ms, error=attempt.error)
            if state is DeliveryState.PENDING:
                self._signal(conn, wake.WEBHOOKS)  # a delivery loop sleeping longer than the backoff re-reads
        return True

    def webhook_deliveries(self, job_id: str) -> list[WebhookDelivery]:
        """The job's events with their attempts, oldest first (the caller checks who owns the job)."""
        with self._connection() as conn:
            events = self._rows(conn, "webhook_events_of_job", job_id=job_id)
            attempts = self._rows(conn, "webhook_attempts_of_job", job_id=job_id)
        by_event: dict[str, list[WebhookAttempt]] = {}
        for row in attempts:
            by_event.setdefault(row["event_id"], []).append(WebhookAttempt(
                attempt=row["attempt"], at=self._from_db_time(row["at"]), status_code=row["status_code"],
                latency_ms=row["latency_ms"], error=row["error"]))
        return [WebhookDelivery(event, by_event.get(event.id, [])) for event in map(self._event, events)]

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

    def check_writable(self) -> None:
        """Raise the store's UnavailableError when a write would fail now (a full or read-only disk under an
        embedded database). Cheap, for a load balancer's health check; a server database checks nothing here."""

    def subscribe(self, on_new_job: Callable[[], None]) -> Callable[[], None]:
        """Call `on_new_job` (from another thread) whenever a job may have become claimable; returns
        the unsubscribe function. A commit in this process calls it directly; one in another process
        reaches it through the backend's push (PostgreSQL: LISTEN/NOTIFY; SQLite: store/wake.py). A
        hint only: workers still poll, so a missed notification costs at most one poll interval."""
        return self._subscribe(wake.JOBS, lambda _: on_new_job())

    def subscribe_webhooks(self, on_due: Callable[[], None]) -> Callable[[], None]:
        """Like `subscribe`, for webhook events written or rescheduled: what the delivery loop waits on."""
        return self._subscribe(wake.WEBHOOKS, lambda _: on_due())

    def subscribe_changes(self, on_change: Callable[[str], None]) -> Callable[[], None]:
        """Call `on_change(job_id)` whenever a job's status or progress changes, or `on_change("*")`
        (`wake.QUEUE_MOVED`) when queued jobs' positions may have: what event streams wait on. A hint,
        like `subscribe`: a listener that must not miss a change still re-reads now and then."""
        return self._subscribe(wake.CHANGES, on_change)

    def _subscribe(self, topic: str, callback: Callable[[str], None]) -> Callable[[], None]:
        stop_local = wake.local_subscribe(self._queue_identity(), topic, callback)
        stop_push = self._subscribe_push(topic, callback)

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
            webhook=None if row["webhook_url"] is None else Webhook(
                row["webhook_url"], frozenset(filter(None, row["webhook_events"].split(",")))),
        )

    def _event(self, row: Row) -> WebhookEvent:
        time = self._from_db_time
        return WebhookEvent(id=row["id"], job_id=row["job_id"], owner=row["owner"], type=EventType(row["type"]), url=row["url"],
                            created_at=time(row["created_at"]), state=DeliveryState(row["state"]),
                            attempts=row["attempts"], next_attempt_at=time(row["next_attempt_at"]))

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
        self._signal(conn, wake.JOBS)

    def _changed(self, conn: Connection, job_id: str) -> None:
        """A job's status or progress changed in this transaction (or, for `wake.QUEUE_MOVED`, the queue)."""
        self._signal(conn, wake.CHANGES, job_id)

    def _signal(self, conn: Connection, topic: str, payload: str = "") -> None:
        """News on `topic` for after this transaction commits; nothing if it rolls back."""
        pending: set[tuple[str, str]] = self._wakes.pending
        if (topic, payload) not in pending:
            pending.add((topic, payload))
            self._push_in_transaction(conn, topic, payload)

    def _began(self) -> None:
        """A backend's `_transaction` calls this as it begins, and `_committed` once it has committed."""
        self._wakes.pending = set()

    def _committed(self) -> None:
        signals: set[tuple[str, str]] = getattr(self._wakes, "pending", set())
        if signals:
            self._wakes.pending = set()
            for topic, payload in signals:
                wake.local_notify(self._queue_identity(), topic, payload)
            self._push_after_commit(signals)

    def _retried(self, action: Callable[[], Any]) -> Any:
        """Run `action` (one transaction); a backend whose connections can be cut may run it once more."""
        return action()

    @abc.abstractmethod
    def _queue_identity(self) -> str:
        """What names this queue for every store object in this process that opens it (a path, a URL)."""

    def _subscribe_push(self, topic: str, callback: Callable[[str], None]) -> Callable[[], None]:
        """Hear other processes' news on `topic`; returns the stop function. No push: polling only."""
        return lambda: None

    def _push_in_transaction(self, conn: Connection, topic: str, payload: str) -> None:  # noqa: B027 - optional hook
        """Tell other processes, delivered only if the transaction commits (PostgreSQL's NOTIFY)."""

    def _push_after_commit(self, signals: set[tuple[str, str]]) -> None:  # noqa: B027 - optional hook
        """Tell other processes once committed (SQLite's datagrams): (topic, payload) pairs."""

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
        webhook = job.webhook
        self._store._run(self._conn, "insert_job", id=job.id, owner=job.owner, model_id=job.model_id,
                         input=job.input, created_at=job.created_at, webhook_url=webhook and webhook.url,
                         webhook_events=",".join(sorted(webhook.events)) if webhook else "")
        self._store._claimable(self._conn)

    def record_idempotency(self, owner: str, key: str, digest: str, job_id: str, now: datetime) -> None:
        """Insert, or replace a record older than the TTL."""
        self._store._run(self._conn, "record_idempotency", owner=owner, key=key, request_hash=digest, job_id=job_id,
                         now=now)

    def get_job(self, job_id: str) -> Job:
        return self._store._job(self._store._row(self._conn, "get_job", id=job_id))
