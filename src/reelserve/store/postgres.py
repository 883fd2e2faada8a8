"""PostgreSQL backend: one queue shared by API replicas and workers on many machines.

Claims take the oldest queued row with `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait
on each other's rows and never take the same one. Admissions for one API key are serialised with
a transaction-scoped advisory lock on the key, which keeps the Idempotency-Key lookup and the
limit counts exact without locking anyone else out. Every write that makes a job claimable sends
`NOTIFY reelserve_jobs` (delivered on commit), so an idle worker wakes at once instead of polling.

Connections come from a small pool (`database_pool_size` per process) rather than one per thread:
an API replica's thread pool would otherwise hold dozens of idle server connections.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from reelserve.errors import ConfigurationError, StoreUnavailableError
from reelserve.store.base import JobStore, Reaped, migration_scripts
from reelserve.store.job import ApiKey, Job, Status, WorkerInfo

log = logging.getLogger(__name__)

CHANNEL = "reelserve_jobs"
LOCK_CLASS = 0x7265656C  # "reel": the first key of our advisory locks, so they never meet another app's
MIGRATION_LOCK = 0  # second keys of our process-wide locks; owners' locks use hashtext(owner)
FIRST_KEY_LOCK = 1
CONNECT_TIMEOUT_SECONDS = 10
POOL_WAIT_SECONDS = 5  # no working connection this long: answer 503 rather than hang
APPLICATION_NAME = "reelserve"  # shown in pg_stat_activity
LISTEN_RECONNECT_SECONDS = 1.0

SQL = {
    "insert_key": "INSERT INTO api_keys (id, name, key_hash, prefix, created_at) VALUES (%s, %s, %s, %s, %s)",
    "insert_first_key": (
        "INSERT INTO api_keys (id, name, key_hash, prefix, created_at)"
        " SELECT %s, %s, %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM api_keys)"
    ),
    "key_by_hash": "SELECT * FROM api_keys WHERE key_hash = %s",
    "list_keys": "SELECT * FROM api_keys ORDER BY created_at",
    "revoke_key": "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
    "lock_owner": "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
    "insert_job": "INSERT INTO jobs (id, owner, model_id, input, status, created_at) VALUES (%s, %s, %s, %s, %s, %s)",
    "notify": f"SELECT pg_notify('{CHANNEL}', '')",
    "get_job": "SELECT * FROM jobs WHERE id = %s",
    "get_owned_job": "SELECT * FROM jobs WHERE id = %s AND owner = %s",
    "queue_position": (
        "SELECT COUNT(*) AS n FROM jobs WHERE status = 'in_queue' AND seq < (SELECT seq FROM jobs WHERE id = %s)"
    ),
    "cancel_if_queued": (
        "UPDATE jobs SET status = 'cancelled', finished_at = %s WHERE id = %s AND owner = %s AND status = 'in_queue'"
    ),
    # SKIP LOCKED: a row another worker is claiming (or a canceller is cancelling) is passed over,
    # not waited on; the outer status check re-reads the row once it holds the lock.
    "claim_oldest": (
        "UPDATE jobs SET status = 'in_progress', started_at = %s, attempts = attempts + 1,"
        " lease_owner = %s, lease_expires_at = %s, progress = 0"
        " WHERE seq = (SELECT seq FROM jobs WHERE status = 'in_queue' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " AND status = 'in_queue' RETURNING *"
    ),
    "active_count": "SELECT COUNT(*) AS n FROM jobs WHERE owner = %s AND status IN ('in_queue', 'in_progress')",
    "submits_since": "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM jobs WHERE owner = %s AND created_at >= %s",
    "idempotent_job": (
        "SELECT job_id, request_hash FROM idempotency_keys WHERE owner = %s AND key = %s AND created_at >= %s"
    ),
    "record_idempotency": (
        "INSERT INTO idempotency_keys (owner, key, request_hash, job_id, created_at) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (owner, key) DO UPDATE SET request_hash = excluded.request_hash, job_id = excluded.job_id,"
        " created_at = excluded.created_at"
    ),
    "release": (
        "UPDATE jobs SET status = 'in_queue', attempts = attempts - 1, started_at = NULL, progress = NULL,"
        " lease_owner = NULL, lease_expires_at = NULL WHERE id = %s AND status = 'in_progress' AND lease_owner = %s"
    ),
    "reap_interrupted": (
        "UPDATE jobs SET status = 'failed', finished_at = %s, error_code = 'interrupted', error_message = %s,"
        " lease_owner = NULL, lease_expires_at = NULL"
        " WHERE status = 'in_progress' AND lease_expires_at < %s AND attempts >= %s RETURNING id"
    ),
    "reap_requeue": (
        "UPDATE jobs SET status = 'in_queue', started_at = NULL, progress = NULL, lease_owner = NULL,"
        " lease_expires_at = NULL WHERE status = 'in_progress' AND lease_expires_at < %s RETURNING id"
    ),
    "finished_before": (
        "SELECT * FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at < %s"
        " ORDER BY finished_at LIMIT %s"
    ),
    "tombstone": (
        "INSERT INTO expired_jobs (id, owner, expired_at) SELECT id, owner, %s FROM jobs WHERE id = ANY(%s)"
        " ON CONFLICT (id) DO NOTHING"
    ),
    "delete_jobs": "DELETE FROM jobs WHERE id = ANY(%s)",
    "was_expired": "SELECT 1 FROM expired_jobs WHERE id = %s AND owner = %s",
    "purge_idempotency": "DELETE FROM idempotency_keys WHERE created_at < %s",
    "purge_tombstones": "DELETE FROM expired_jobs WHERE expired_at < %s",
    "upsert_worker": (
        "INSERT INTO workers (id, engine, started_at, last_seen_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET engine = excluded.engine, last_seen_at = excluded.last_seen_at"
    ),
    "workers_since": "SELECT * FROM workers WHERE last_seen_at >= %s ORDER BY started_at",
}


def _row_to_job(row: dict[str, Any]) -> Job:
    return Job(
        id=row["id"], owner=row["owner"], model_id=row["model_id"], input=row["input"], status=Status(row["status"]),
        created_at=row["created_at"], started_at=row["started_at"], finished_at=row["finished_at"],
        attempts=row["attempts"], lease_owner=row["lease_owner"], lease_expires_at=row["lease_expires_at"],
        progress=row["progress"], output_key=row["output_key"], error_code=row["error_code"],
        error_message=row["error_message"], metadata=row["metadata"],
    )


def _row_to_key(row: dict[str, Any]) -> ApiKey:
    return ApiKey(id=row["id"], name=row["name"], prefix=row["prefix"], created_at=row["created_at"],
                  revoked_at=row["revoked_at"])


def _to_column(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict) else value


class _SubmitTransaction:
    """`SubmitTransaction` over a connection inside a transaction holding the owner's advisory lock."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def idempotent_job(self, owner: str, key: str, since: datetime) -> tuple[str, str] | None:
        row = self.conn.execute(SQL["idempotent_job"], (owner, key, since)).fetchone()
        return None if row is None else (row["job_id"], row["request_hash"])

    def active_count(self, owner: str) -> int:
        return self.conn.execute(SQL["active_count"], (owner,)).fetchone()["n"]

    def submits_since(self, owner: str, since: datetime) -> tuple[int, datetime | None]:
        row = self.conn.execute(SQL["submits_since"], (owner, since)).fetchone()
        return row["n"], row["oldest"]

    def insert_job(self, job: Job) -> None:
        values = (job.id, job.owner, job.model_id, Jsonb(job.input), job.status.value, job.created_at)
        self.conn.execute(SQL["insert_job"], values)
        self.conn.execute(SQL["notify"])

    def record_idempotency(self, owner: str, key: str, digest: str, job_id: str, now: datetime) -> None:
        self.conn.execute(SQL["record_idempotency"], (owner, key, digest, job_id, now))

    def get_job(self, job_id: str) -> Job:
        return _row_to_job(self.conn.execute(SQL["get_job"], (job_id,)).fetchone())


class PostgresJobStore(JobStore):
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self._listeners: list[_Listener] = []
        try:  # once, directly: a wrong URL fails at startup with the server's own reason
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
        except psycopg.OperationalError as exc:
            raise ConfigurationError(
                f"Could not connect to the PostgreSQL database at {_redacted(url)}: {exc}. "
                "Check REELSERVE_DATABASE_URL and that the server is running.") from exc
        # check_connection: a connection the server dropped (restart, failover) is replaced, not handed out.
        self._pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, check=ConnectionPool.check_connection,
            timeout=POOL_WAIT_SECONDS, kwargs={"autocommit": True, "row_factory": dict_row,
                                               "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                                               "application_name": APPLICATION_NAME},
        )
        self._pool.open()

    # --- connections and transactions ----------------------------------------------------------

    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        """A pooled connection (autocommit: each statement is its own transaction unless in `_tx`)."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            # The server went away or every connection is busy: a retryable 503, never a 500.
            log.warning("PostgreSQL unavailable: %s", exc)
            raise StoreUnavailableError() from exc

    @contextlib.contextmanager
    def _tx(self) -> Iterator[psycopg.Connection]:
        with self._conn() as conn, conn.transaction():
            yield conn

    def _one(self, query: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._conn() as conn:
            return conn.execute(query, params).fetchone()

    def _changed(self, query: str | sql.Composed, params: tuple[Any, ...] | list[Any]) -> bool:
        with self._conn() as conn:
            return conn.execute(query, params).rowcount == 1

    def close(self) -> None:
        for listener in self._listeners:
            listener.stop()
        self._pool.close()

    # --- schema -------------------------------------------------------------------------------

    def migrate(self) -> None:
        with self._tx() as conn:
            # Several processes may start at once: the first migrates, the rest wait and find it done.
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, MIGRATION_LOCK))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations"
                         " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            done = {row["version"] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, script in migration_scripts("postgres"):
                if version not in done:
                    conn.execute(script)  # no parameters: the whole script in one round trip
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))

    # --- keys ---------------------------------------------------------------------------------

    def _insert_key(self, key: ApiKey, key_hash: str) -> None:
        self._changed(SQL["insert_key"], (key.id, key.name, key_hash, key.prefix, key.created_at))

    def _insert_first_key(self, key: ApiKey, key_hash: str) -> bool:
        # READ COMMITTED lets two "not exists" checks pass at once; the lock makes them take turns.
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, FIRST_KEY_LOCK))
            values = (key.id, key.name, key_hash, key.prefix, key.created_at)
            return conn.execute(SQL["insert_first_key"], values).rowcount == 1

    def _find_key_by_hash(self, key_hash: str) -> tuple[ApiKey, str] | None:
        row = self._one(SQL["key_by_hash"], (key_hash,))
        return None if row is None else (_row_to_key(row), row["key_hash"])

    def _revoke_key(self, key_id: str, now: datetime) -> bool:
        return self._changed(SQL["revoke_key"], (now, key_id))

    def list_keys(self) -> list[ApiKey]:
        with self._conn() as conn:
            return [_row_to_key(r) for r in conn.execute(SQL["list_keys"])]

    # --- jobs ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _submission(self, owner: str) -> Iterator[_SubmitTransaction]:
        with self._tx() as conn:
            conn.execute(SQL["lock_owner"], (LOCK_CLASS, owner))  # released at commit or rollback
            yield _SubmitTransaction(conn)

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        if owner is None:
            row = self._one(SQL["get_job"], (job_id,))
        else:
            row = self._one(SQL["get_owned_job"], (job_id, owner))
        return None if row is None else _row_to_job(row)

    def queue_position(self, job: Job) -> int:
        return self._one(SQL["queue_position"], (job.id,))["n"]

    def was_expired(self, job_id: str, owner: str) -> bool:
        return self._one(SQL["was_expired"], (job_id, owner)) is not None

    def _cancel_if_queued(self, job_id: str, owner: str, now: datetime) -> bool:
        return self._changed(SQL["cancel_if_queued"], (now, job_id, owner))

    def _claim_oldest(self, worker_id: str, now: datetime, lease_expires_at: datetime) -> Job | None:
        row = self._one(SQL["claim_oldest"], (now, worker_id, lease_expires_at))
        return None if row is None else _row_to_job(row)

    def _update_running(self, job_id: str, worker_id: str, fields: dict[str, Any]) -> bool:
        assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(name)) for name in fields)
        query = sql.SQL("UPDATE jobs SET {} WHERE id = %s AND status = 'in_progress' AND lease_owner = %s").format(
            assignments)
        return self._changed(query, [_to_column(v) for v in fields.values()] + [job_id, worker_id])

    def _release(self, job_id: str, worker_id: str) -> bool:
        with self._tx() as conn:
            released = conn.execute(SQL["release"], (job_id, worker_id)).rowcount == 1
            if released:
                conn.execute(SQL["notify"])
        return released

    def _reap(self, now: datetime, max_attempts: int, message: str) -> Reaped:
        with self._tx() as conn:
            interrupted = conn.execute(SQL["reap_interrupted"], (now, message, now, max_attempts)).fetchall()
            requeued = conn.execute(SQL["reap_requeue"], (now,)).fetchall()
            if requeued:
                conn.execute(SQL["notify"])
        return Reaped(requeued=[r["id"] for r in requeued], interrupted=[r["id"] for r in interrupted])

    # --- retention ----------------------------------------------------------------------------

    def _finished_before(self, cutoff: datetime, limit: int) -> list[Job]:
        with self._conn() as conn:
            return [_row_to_job(r) for r in conn.execute(SQL["finished_before"], (cutoff, limit))]

    def _expire(self, job_ids: list[str], now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(SQL["tombstone"], (now, job_ids))
            conn.execute(SQL["delete_jobs"], (job_ids,))

    def _purge_bookkeeping(self, idempotency_before: datetime, tombstones_before: datetime) -> None:
        with self._tx() as conn:
            conn.execute(SQL["purge_idempotency"], (idempotency_before,))
            conn.execute(SQL["purge_tombstones"], (tombstones_before,))

    # --- workers ------------------------------------------------------------------------------

    def _upsert_worker(self, worker_id: str, engine: dict[str, Any], now: datetime) -> None:
        self._changed(SQL["upsert_worker"], (worker_id, Jsonb(engine), now, now))

    def _workers_seen_since(self, since: datetime) -> list[WorkerInfo]:
        with self._conn() as conn:
            rows = conn.execute(SQL["workers_since"], (since,)).fetchall()
        return [WorkerInfo(r["id"], r["engine"], r["started_at"], r["last_seen_at"]) for r in rows]

    # --- push ---------------------------------------------------------------------------------

    def subscribe(self, on_new_job: Callable[[], None]) -> Callable[[], None]:
        listener = _Listener(self.url, on_new_job)
        self._listeners.append(listener)
        listener.start()
        return listener.stop


class _Listener:
    """A thread holding one LISTEN connection; calls back on every notification.

    If the connection drops it reconnects, and calls back once on reconnecting: a job submitted
    while it was away sent its notification to no one.
    """

    def __init__(self, url: str, callback: Callable[[], None]) -> None:
        self._url = url
        self._callback = callback
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                     application_name=APPLICATION_NAME) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._callback()
                    while not self._stopped.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self._callback()
            except psycopg.Error as exc:
                log.warning("LISTEN connection lost (%s); workers poll until it is back", exc)
                self._stopped.wait(LISTEN_RECONNECT_SECONDS)


def _redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return " ".join(f"{k}={'***' if k == 'password' else v}" for k, v in info.items())
