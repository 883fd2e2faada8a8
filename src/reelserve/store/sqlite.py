"""SQLite backend: the embedded default. WAL, a busy timeout, and BEGIN IMMEDIATE for every write.

BEGIN IMMEDIATE takes the write lock up front, so a read-then-write can never be interleaved with
another writer, and "database is locked" turns into a short wait (busy_timeout) instead of an error.
That one lock also serialises admissions and the first-key check, so `_exclusive` has nothing to do.
Connections come from a bounded pool (`_Pool`): a burst of API threads shares a few of them instead of
each keeping one forever. Times are stored as UTC seconds (REAL), JSON as text.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reelserve.errors import StoreBusyError, StoreFullError, StoreReadOnlyError, StoreUnavailableError
from reelserve.store import wake
from reelserve.store.backend import Clock, utcnow
from reelserve.store.base import JobStore

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
POOL_SIZE = 8  # connections one store object opens at most; SQLite runs one writer at a time anyway
MIN_FREE_BYTES = 1024 * 1024  # below this the next write may fail: /healthz says the disk is full

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


def _fault(exc: sqlite3.Error) -> StoreUnavailableError | None:
    """The retryable error a file-system fault shows up as, or None for anything else (a bug: a 500)."""
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text:
        return StoreReadOnlyError()
    if "disk is full" in text:
        return StoreFullError()
    if "disk i/o error" in text or "unable to open" in text:
        return StoreUnavailableError()
    return None


class _Pool:
    """At most `size` connections, each lent to one thread at a time and reused by the next.

    A thread that asks again while holding one (a read inside its own transaction) gets the same one. A
    connection that met a file-system fault is closed rather than lent again: one opened while the folder
    was read-only, for instance, would stay read-only after the folder is writable again.
    """

    def __init__(self, open_connection: Callable[[], sqlite3.Connection], size: int) -> None:
        self._open = open_connection
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._held = threading.local()

    @contextlib.contextmanager
    def lend(self) -> Iterator[sqlite3.Connection]:
        held = getattr(self._held, "conn", None)
        if held is not None:
            yield held
            return
        if not self._slots.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise StoreBusyError()
        conn = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            conn = conn or self._open()
            self._held.conn = conn
            try:
                yield conn
            except sqlite3.Error as exc:
                fault = _fault(exc)
                if fault is None:
                    raise
                log.warning("the queue database %s: %s", "cannot be written" if fault.retry_after > 1 else "fault", exc)
                conn.close()
                conn = None
                raise fault from exc
        finally:
            self._held.conn = None
            if conn is not None:
                with self._lock:
                    self._idle.append(conn)
            self._slots.release()

    def close(self) -> None:
        with self._lock:
            for conn in self._idle:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._idle.clear()


class SqliteJobStore(JobStore):
    dialect = "sqlite"

    def __init__(self, path: Path, *, clock: Clock = utcnow) -> None:
        super().__init__(clock)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # SQLite creates the -wal and -shm files with the database file's mode: 0600 keeps prompts
        # and keys' hashes from other local users whatever the umask.
        self.path.touch(mode=0o600, exist_ok=True)
        self._pool = _Pool(self._open, POOL_SIZE)
        self._identity = str(self.path.resolve())  # once: every commit with news names the queue by it
        self._wake_folders = {topic: wake.wake_folder(self.path, topic) for topic in wake.TOPICS}
        self._writing = _write_lock(self._identity)

    def _open(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing is implicitly open. mode=rw: a
            # file that cannot be written fails to open (a 503) instead of opening read-only for good.
            conn = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None,
                                   check_same_thread=False, timeout=30)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.OperationalError as exc:  # a missing, unreadable or replaced file: a 503, not a 500
            log.warning("the queue database %s cannot be opened: %s", self.path, exc)
            if self.path.exists() and not os.access(self.path, os.W_OK):
                raise StoreReadOnlyError() from exc
            raise (_fault(exc) or StoreUnavailableError()) from exc
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._pool.lend() as conn:
            yield conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._pool.lend() as conn:
            if not self._writing.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
                raise StoreBusyError()
            try:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    # After busy_timeout of waiting, a retryable 503, never a raw "database is locked"; a file
                    # that cannot be written shows here too, and the pool turns it into its own 503.
                    if _fault(exc) is not None:
                        raise
                    raise StoreBusyError() from exc
                self._began()
                try:
                    yield conn
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):  # the fault that got us here is the one to report
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                self._writing.release()
        self._committed()  # after the commit, so a woken worker finds the job

    def check_writable(self) -> None:
        """The file system's word, without writing: the folder and files writable, and room on the disk."""
        files = [self.path.parent, self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm"))]
        if not all(os.access(f, os.W_OK) for f in files if f.exists()):
            raise StoreReadOnlyError()
        if shutil.disk_usage(self.path.parent).free < MIN_FREE_BYTES:
            raise StoreFullError()

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
        self._pool.close()

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
