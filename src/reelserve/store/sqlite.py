"""SQLite backend: the embedded default. WAL, a busy timeout, and BEGIN IMMEDIATE for every write.

BEGIN IMMEDIATE takes the write lock up front, so a read-then-write can never be interleaved with
another writer, and "database is locked" turns into a short wait (busy_timeout) instead of an error.
That one lock also serialises admissions and the first-key check, so `_exclusive` has nothing to do.
Each thread gets its own connection: sqlite3 connections must not be shared between threads.
Times are stored as UTC seconds (REAL), JSON as text.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reelserve.errors import StoreBusyError, StoreUnavailableError
from reelserve.store import wake
from reelserve.store.base import JobStore

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000

# One per database file in this process, shared by every store object on it (`reelserve serve`'s API
# and worker hold one each). Writers in one process take turns here, woken in order the moment the
# last one commits, instead of meeting in SQLite's busy handler, which sleeps between tries (up to
# 100 ms a try) and gave 16 concurrent submits a p99 of half a second. Other processes on the file
# still meet in the busy handler.
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


def _write_lock(identity: str) -> threading.Lock:
    with _write_locks_guard:
        return _write_locks.setdefault(identity, threading.Lock())


def _statements(script: str) -> list[str]:
    """A migration's statements; `--` comments are dropped first so they may contain semicolons."""
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [statement for statement in code.split(";") if statement.strip()]


class SqliteJobStore(JobStore):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # SQLite creates the -wal and -shm files with the database file's mode: 0600 keeps prompts
        # and keys' hashes from other local users whatever the umask.
        self.path.touch(mode=0o600, exist_ok=True)
        self._local = threading.local()
        self._identity = str(self.path.resolve())  # once: every commit with news names the queue by it
        self._wake_folders = {topic: wake.wake_folder(self.path, topic) for topic in wake.TOPICS}
        self._writing = _write_lock(self._identity)
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing is implicitly open.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.OperationalError as exc:  # a missing, unreadable or replaced file: a 503, not a 500
            log.warning("the queue database %s cannot be opened: %s", self.path, exc)
            raise StoreUnavailableError() from exc
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        yield self._conn()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        if not self._writing.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise StoreBusyError()
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                # Only after busy_timeout of waiting; callers see a retryable 503, never a raw "database is locked".
                raise StoreBusyError() from exc
            self._began()
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            self._writing.release()
        self._committed()  # after the commit, so a woken worker finds the job

    def _queue_identity(self) -> str:
        return self._identity

    def _subscribe_push(self, topic: str, callback: Callable[[str], None]) -> Callable[[], None]:
        """News from other processes on this database (store/wake.py)."""
        return wake.listen(self._wake_folders[topic], callback)

    def _push_after_commit(self, signals: set[tuple[str, str]]) -> None:
        for topic, payload in signals:
            wake.notify(self._wake_folders[topic], payload)

    def _run_script(self, conn: sqlite3.Connection, script: str) -> None:
        # executescript() would COMMIT our transaction; run statement by statement instead.
        for statement in _statements(script):
            conn.execute(statement)

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # --- column types ---------------------------------------------------------------------------

    def _to_db(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (dict, list)):  # lists are id lists, read back with json_each()
            return json.dumps(value)
        return value

    def _from_db_time(self, value: float | None) -> datetime | None:
        return None if value is None else datetime.fromtimestamp(value, UTC)

    def _from_db_json(self, value: str) -> Any:
        return json.loads(value)
