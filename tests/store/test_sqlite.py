from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reelserve.store import JobStore, SqliteJobStore
from tests.jobs import submit
from tests.store.clock import MovableClock
from tests.store.contract import StoreContract
from tests.store.webhook_contract import WebhookStoreContract


class TestSqliteStore(StoreContract, WebhookStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path, clock: MovableClock) -> JobStore:
        store = SqliteJobStore(tmp_path / "q.db", clock=clock)
        store.migrate()
        yield store
        store.close()

    def open_again(self, store: JobStore) -> JobStore:
        return SqliteJobStore(store.path, clock=store.clock)

    def raw_dump(self, store: JobStore) -> bytes:
        return b"\n".join(line.encode() for line in sqlite3.connect(store.path).iterdump())


def test_sqlite_uses_wal_and_migrates_idempotently(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "q.db")
    store.migrate()
    store.migrate()
    with store._connection() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert [tuple(r) for r in conn.execute("SELECT version FROM schema_migrations")] == [(1,), (2,), (3,), (4,)]
        columns = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    assert {"owner", "model_id", "input", "status", "seq", "created_at", "attempts", "lease_owner",
            "lease_expires_at", "output_key", "error_code", "error_message", "metadata"} <= columns


def test_two_store_instances_share_one_queue(tmp_path: Path) -> None:
    """Separate processes open separate stores; a second instance stands in for one here."""
    api, worker = SqliteJobStore(tmp_path / "q.db"), SqliteJobStore(tmp_path / "q.db")
    api.migrate()
    worker.migrate()
    key, _ = api.create_key("k")
    job = submit(api, key.id, "m", {"prompt": "x"})
    assert worker.claim("w", 30).id == job.id
    assert api.get(job.id).lease_owner == "w"


def test_a_submit_in_another_process_wakes_a_worker_here(tmp_path) -> None:
    """`reelserve worker` processes beside `reelserve serve` on one SQLite file are woken by its submits."""
    import subprocess
    import sys
    import threading

    store = SqliteJobStore(tmp_path / "reelserve.db")
    store.migrate()
    owner = store.create_key("k")[0].id
    woken = threading.Event()
    unsubscribe = store.subscribe(woken.set)
    script = ("import sys; from pathlib import Path; from reelserve.store import SqliteJobStore; "
              "s = SqliteJobStore(Path(sys.argv[1])); s.submit_request(sys.argv[2], 'm', {'prompt': 'x'})")
    try:
        subprocess.run([sys.executable, "-c", script, str(tmp_path / "reelserve.db"), owner], check=True, timeout=60)
        assert woken.wait(5), "the other process's submit woke nothing here"
    finally:
        unsubscribe()
        store.close()


def test_wake_sockets_of_dead_processes_are_cleared_and_a_foreign_folder_is_not_used(tmp_path) -> None:
    import os
    import socket

    from reelserve.store import wake

    folder = tmp_path / "wake"
    folder.mkdir(mode=0o700)
    stale = folder / "999999-dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as gone:
        gone.bind(str(stale))  # bound, then closed: its process is gone
    wake.notify(folder)
    assert not stale.exists()
    os.chmod(folder, 0o755)  # readable by others: someone else could have made it
    assert wake.listen(folder, lambda _: None)() is None and list(folder.glob("*.sock")) == []


def _open_files(path: Path) -> int:
    """File descriptors this process holds on `path` (the database file itself)."""
    import os

    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path.resolve()))


def test_bursts_of_threads_share_a_bounded_pool_of_connections(tmp_path: Path) -> None:
    """Three bursts of 60 threads polling, as uvicorn's thread pool makes them: each thread once kept a
    connection of its own forever (38 more a burst, until `ulimit -n` ran out)."""
    import threading

    from reelserve.store.sqlite import POOL_SIZE

    store = SqliteJobStore(tmp_path / "q.db")
    store.migrate()
    seen: list[int] = []
    for _ in range(3):
        threads = [threading.Thread(target=lambda: store.live_workers(30)) for _ in range(60)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seen.append(_open_files(tmp_path / "q.db"))
    assert max(seen) <= POOL_SIZE, f"open connections after each burst: {seen}"
    store.close()
    assert _open_files(tmp_path / "q.db") == 0


def test_a_connection_that_meets_a_read_only_fault_is_closed_and_the_error_is_a_503(tmp_path: Path) -> None:
    """The pool lends nothing that met a file-system fault again; the fault is a retryable StoreReadOnlyError."""
    import sqlite3

    from reelserve.errors import StoreReadOnlyError, StoreUnavailableError

    store = SqliteJobStore(tmp_path / "q.db")
    store.migrate()
    with store._connection() as first:
        pass
    try:
        with store._connection():
            raise sqlite3.OperationalError("attempt to write a readonly database")
    except StoreReadOnlyError as exc:
        assert isinstance(exc, StoreUnavailableError) and "read-only" in exc.message
    with store._connection() as again:
        assert again is not first  # a fresh connection, not the one that met the fault
        with pytest.raises(sqlite3.ProgrammingError):
            first.execute("SELECT 1")  # closed
