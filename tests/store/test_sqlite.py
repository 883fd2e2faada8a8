from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reelserve.store import JobStore, SqliteJobStore
from tests.store.contract import StoreContract
from tests.store.webhook_contract import WebhookStoreContract
from tests.jobs import submit


class TestSqliteStore(StoreContract, WebhookStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> JobStore:
        store = SqliteJobStore(tmp_path / "q.db")
        store.migrate()
        yield store
        store.close()

    def open_again(self, store: JobStore) -> JobStore:
        return SqliteJobStore(store.path)

    def raw_dump(self, store: JobStore) -> bytes:
        return b"\n".join(line.encode() for line in sqlite3.connect(store.path).iterdump())


def test_sqlite_uses_wal_and_migrates_idempotently(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "q.db")
    store.migrate()
    store.migrate()
    conn = store._conn()
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
