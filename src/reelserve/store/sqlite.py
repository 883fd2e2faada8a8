"""SQLite backend: the embedded default. WAL, a busy timeout, and BEGIN IMMEDIATE for every write.

BEGIN IMMEDIATE takes the write lock up front, so a read-then-write can never be interleaved with
another writer, and "database is locked" turns into a short wait (busy_timeout) instead of an error.
Each thread gets its own connection: sqlite3 connections must not be shared between threads.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reelserve.errors import StoreBusyError
from reelserve.store.base import JobStore, Reaped, migration_scripts
from reelserve.store.job import ApiKey, Job, Status, WorkerInfo

BUSY_TIMEOUT_MS = 30_000

# Every query in one place, by name.
SQL = {
    "insert_key": "INSERT INTO api_keys (id, name, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)",
    "insert_first_key": (
        "INSERT INTO api_keys (id, name, key_hash, prefix, created_at)"
        " SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM api_keys)"
    ),
    "key_by_hash": "SELECT * FROM api_keys WHERE key_hash = ?",
    "list_keys": "SELECT * FROM api_keys ORDER BY created_at",
    "revoke_key": "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
    "insert_job": "INSERT INTO jobs (id, owner, model_id, input, status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    "get_job": "SELECT * FROM jobs WHERE id = ?",
    "get_owned_job": "SELECT * FROM jobs WHERE id = ? AND owner = ?",
    "queue_position": "SELECT COUNT(*) FROM jobs WHERE status = 'in_queue' AND seq < (SELECT seq FROM jobs WHERE id = ?)",
    "cancel_if_queued": (
        "UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ? AND owner = ? AND status = 'in_queue'"
    ),
    "claim_oldest": (
        "UPDATE jobs SET status = 'in_progress', started_at = ?, attempts = attempts + 1,"
        " lease_owner = ?, lease_expires_at = ?, progress = 0"
        " WHERE seq = (SELECT seq FROM jobs WHERE status = 'in_queue' ORDER BY seq LIMIT 1)"
        " AND status = 'in_queue' RETURNING *"
    ),
    "active_count": "SELECT COUNT(*) FROM jobs WHERE owner = ? AND status IN ('in_queue', 'in_progress')",
    "submits_since": "SELECT COUNT(*), MIN(created_at) FROM jobs WHERE owner = ? AND created_at >= ?",
    "idempotent_job": "SELECT job_id, request_hash FROM idempotency_keys WHERE owner = ? AND key = ? AND created_at >= ?",
    "record_idempotency": (
        "INSERT OR REPLACE INTO idempotency_keys (owner, key, request_hash, job_id, created_at) VALUES (?, ?, ?, ?, ?)"
    ),
    "release": (
        "UPDATE jobs SET status = 'in_queue', attempts = attempts - 1, started_at = NULL, progress = NULL,"
        " lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND status = 'in_progress' AND lease_owner = ?"
    ),
    "reap_interrupted": (
        "UPDATE jobs SET status = 'failed', finished_at = ?, error_code = 'interrupted', error_message = ?,"
        " lease_owner = NULL, lease_expires_at = NULL"
        " WHERE status = 'in_progress' AND lease_expires_at < ? AND attempts >= ? RETURNING id"
    ),
    "reap_requeue": (
        "UPDATE jobs SET status = 'in_queue', started_at = NULL, progress = NULL, lease_owner = NULL,"
        " lease_expires_at = NULL WHERE status = 'in_progress' AND lease_expires_at < ? RETURNING id"
    ),
    "finished_before": (
        "SELECT * FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at < ?"
        " ORDER BY finished_at LIMIT ?"
    ),
    "tombstone": "INSERT OR IGNORE INTO expired_jobs (id, owner, expired_at) SELECT id, owner, ? FROM jobs WHERE id = ?",
    "delete_job": "DELETE FROM jobs WHERE id = ?",
    "was_expired": "SELECT 1 FROM expired_jobs WHERE id = ? AND owner = ?",
    "purge_idempotency": "DELETE FROM idempotency_keys WHERE created_at < ?",
    "purge_tombstones": "DELETE FROM expired_jobs WHERE expired_at < ?",
    "upsert_worker": (
        "INSERT INTO workers (id, engine, started_at, last_seen_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET engine = excluded.engine, last_seen_at = excluded.last_seen_at"
    ),
    "workers_since": "SELECT * FROM workers WHERE last_seen_at >= ? ORDER BY started_at",
}


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _to_column(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _statements(script: str) -> list[str]:
    """A migration's statements; `--` comments are dropped first so they may contain semicolons."""
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [statement for statement in code.split(";") if statement.strip()]


def _row_to_job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        owner=row["owner"],
        model_id=row["model_id"],
        input=json.loads(row["input"]),
        status=Status(row["status"]),
        created_at=_dt(row["created_at"]),
        started_at=_dt(row["started_at"]),
        finished_at=_dt(row["finished_at"]),
        attempts=row["attempts"],
        lease_owner=row["lease_owner"],
        lease_expires_at=_dt(row["lease_expires_at"]),
        progress=row["progress"],
        output_key=row["output_key"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        metadata=json.loads(row["metadata"]),
    )


def _row_to_key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=_dt(row["created_at"]),
        revoked_at=_dt(row["revoked_at"]),
    )


class _SubmitTransaction:
    """`SubmitTransaction` over a connection inside BEGIN IMMEDIATE."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def idempotent_job(self, owner: str, key: str, since: datetime) -> tuple[str, str] | None:
        row = self.conn.execute(SQL["idempotent_job"], (owner, key, _ts(since))).fetchone()
        return None if row is None else (row["job_id"], row["request_hash"])

    def active_count(self, owner: str) -> int:
        return self.conn.execute(SQL["active_count"], (owner,)).fetchone()[0]

    def submits_since(self, owner: str, since: datetime) -> tuple[int, datetime | None]:
        count, oldest = self.conn.execute(SQL["submits_since"], (owner, _ts(since))).fetchone()
        return count, _dt(oldest)

    def insert_job(self, job: Job) -> None:
        values = (job.id, job.owner, job.model_id, json.dumps(job.input), job.status.value, _ts(job.created_at))
        self.conn.execute(SQL["insert_job"], values)

    def record_idempotency(self, owner: str, key: str, digest: str, job_id: str, now: datetime) -> None:
        self.conn.execute(SQL["record_idempotency"], (owner, key, digest, job_id, _ts(now)))

    def get_job(self, job_id: str) -> Job:
        return _row_to_job(self.conn.execute(SQL["get_job"], (job_id,)).fetchone())


class SqliteJobStore(JobStore):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    # --- connections and transactions ----------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing is implicitly open.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            # Only after busy_timeout of waiting; callers see a retryable 503, never a raw "database is locked".
            raise StoreBusyError() from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # --- schema -------------------------------------------------------------------------------

    def migrate(self) -> None:
        with self._write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, script in migration_scripts("sqlite"):
                if version in done:
                    continue
                # executescript() would COMMIT our transaction; run statement by statement instead.
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, strftime('%s','now'))", (version,)
                )

    # --- keys ---------------------------------------------------------------------------------

    def _insert_key(self, key: ApiKey, key_hash: str) -> None:
        with self._write() as conn:
            conn.execute(SQL["insert_key"], (key.id, key.name, key_hash, key.prefix, _ts(key.created_at)))

    def _insert_first_key(self, key: ApiKey, key_hash: str) -> bool:
        # One statement under BEGIN IMMEDIATE's write lock: the check and the insert cannot interleave.
        with self._write() as conn:
            values = (key.id, key.name, key_hash, key.prefix, _ts(key.created_at))
            return conn.execute(SQL["insert_first_key"], values).rowcount == 1

    def _find_key_by_hash(self, key_hash: str) -> tuple[ApiKey, str] | None:
        row = self._conn().execute(SQL["key_by_hash"], (key_hash,)).fetchone()
        return None if row is None else (_row_to_key(row), row["key_hash"])

    def _revoke_key(self, key_id: str, now: datetime) -> bool:
        with self._write() as conn:
            return conn.execute(SQL["revoke_key"], (_ts(now), key_id)).rowcount == 1

    def list_keys(self) -> list[ApiKey]:
        return [_row_to_key(r) for r in self._conn().execute(SQL["list_keys"])]

    # --- jobs ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _submission(self, owner: str) -> Iterator[_SubmitTransaction]:
        # BEGIN IMMEDIATE serialises every writer, so per-owner serialisation comes for free.
        with self._write() as conn:
            yield _SubmitTransaction(conn)

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        if owner is None:
            row = self._conn().execute(SQL["get_job"], (job_id,)).fetchone()
        else:
            row = self._conn().execute(SQL["get_owned_job"], (job_id, owner)).fetchone()
        return None if row is None else _row_to_job(row)

    def queue_position(self, job: Job) -> int:
        return self._conn().execute(SQL["queue_position"], (job.id,)).fetchone()[0]

    def was_expired(self, job_id: str, owner: str) -> bool:
        return self._conn().execute(SQL["was_expired"], (job_id, owner)).fetchone() is not None

    def _cancel_if_queued(self, job_id: str, owner: str, now: datetime) -> bool:
        with self._write() as conn:
            return conn.execute(SQL["cancel_if_queued"], (_ts(now), job_id, owner)).rowcount == 1

    def _claim_oldest(self, worker_id: str, now: datetime, lease_expires_at: datetime) -> Job | None:
        with self._write() as conn:
            row = conn.execute(SQL["claim_oldest"], (_ts(now), worker_id, _ts(lease_expires_at))).fetchone()
        return None if row is None else _row_to_job(row)

    def _update_running(self, job_id: str, worker_id: str, fields: dict[str, Any]) -> bool:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        sql = f"UPDATE jobs SET {assignments} WHERE id = ? AND status = 'in_progress' AND lease_owner = ?"
        values = [_to_column(v) for v in fields.values()] + [job_id, worker_id]
        with self._write() as conn:
            return conn.execute(sql, values).rowcount == 1

    def _release(self, job_id: str, worker_id: str) -> bool:
        with self._write() as conn:
            return conn.execute(SQL["release"], (job_id, worker_id)).rowcount == 1

    def _reap(self, now: datetime, max_attempts: int, message: str) -> Reaped:
        with self._write() as conn:
            interrupted = conn.execute(SQL["reap_interrupted"], (_ts(now), message, _ts(now), max_attempts)).fetchall()
            requeued = conn.execute(SQL["reap_requeue"], (_ts(now),)).fetchall()
        return Reaped(requeued=[r[0] for r in requeued], interrupted=[r[0] for r in interrupted])

    # --- retention ----------------------------------------------------------------------------

    def _finished_before(self, cutoff: datetime, limit: int) -> list[Job]:
        return [_row_to_job(r) for r in self._conn().execute(SQL["finished_before"], (_ts(cutoff), limit))]

    def _expire(self, job_ids: list[str], now: datetime) -> None:
        with self._write() as conn:
            for job_id in job_ids:
                conn.execute(SQL["tombstone"], (_ts(now), job_id))
                conn.execute(SQL["delete_job"], (job_id,))

    def _purge_bookkeeping(self, idempotency_before: datetime, tombstones_before: datetime) -> None:
        with self._write() as conn:
            conn.execute(SQL["purge_idempotency"], (_ts(idempotency_before),))
            conn.execute(SQL["purge_tombstones"], (_ts(tombstones_before),))

    # --- workers ------------------------------------------------------------------------------

    def _upsert_worker(self, worker_id: str, engine: dict[str, Any], now: datetime) -> None:
        with self._write() as conn:
            conn.execute(SQL["upsert_worker"], (worker_id, json.dumps(engine), _ts(now), _ts(now)))

    def _workers_seen_since(self, since: datetime) -> list[WorkerInfo]:
        rows = self._conn().execute(SQL["workers_since"], (_ts(since),))
        return [
            WorkerInfo(r["id"], json.loads(r["engine"]), _dt(r["started_at"]), _dt(r["last_seen_at"])) for r in rows
        ]
