"""The store contract on a real PostgreSQL server, plus what only PostgreSQL has: NOTIFY and pooled connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from reelserve.errors import ConfigurationError
from reelserve.store import JobStore
from reelserve.store.postgres import PostgresJobStore
from tests.jobs import submit
from tests.store.clock import MovableClock
from tests.store.contract import BODY, StoreContract
from tests.store.webhook_contract import WebhookStoreContract


@pytest.fixture
def pg_store(pg_url: str, clock: MovableClock) -> Iterator[PostgresJobStore]:
    store = PostgresJobStore(pg_url, pool_size=12, clock=clock)
    store.migrate()
    yield store
    store.close()


class TestPostgresStore(StoreContract, WebhookStoreContract):
    @pytest.fixture
    def store(self, pg_store: PostgresJobStore) -> JobStore:
        return pg_store

    def open_again(self, store: JobStore) -> JobStore:
        return PostgresJobStore(store.url, pool_size=2, clock=store.clock)

    def raw_dump(self, store: JobStore) -> bytes:
        with psycopg.connect(store.url) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
            rows = [str(r[0]) for t in tables for r in conn.execute(f"SELECT row_to_json(t) FROM {t} t")]
        return "\n".join(rows).encode()


def test_migrations_run_once_even_from_several_processes_at_once(pg_url: str) -> None:
    stores = [PostgresJobStore(pg_url, pool_size=1) for _ in range(4)]
    threads = [threading.Thread(target=s.migrate) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stores[0].migrate()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall() == [(1,), (2,), (3,)]
    for store in stores:
        store.close()


def test_a_submit_wakes_a_subscribed_worker_at_once(pg_store: PostgresJobStore) -> None:
    woken = threading.Event()
    unsubscribe = pg_store.subscribe(woken.set)
    try:
        assert woken.wait(5), "subscribing calls back once, for anything queued before it listened"
        woken.clear()
        owner, _ = pg_store.create_key("k")
        started = time.perf_counter()
        submit(pg_store, owner.id, "m", BODY)
        assert woken.wait(5)
        latency = time.perf_counter() - started
        woken.clear()
        claimed = pg_store.claim("w", 30)
        assert not woken.wait(0.3), "a claim makes nothing claimable"
        assert pg_store.release(claimed.id, "w")
        assert woken.wait(5), "a released job is claimable again"
    finally:
        unsubscribe()
    print(f"\nNOTIFY: submit to wake-up {latency * 1000:.1f} ms")


def test_an_unreachable_server_is_a_configuration_error_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError) as caught:
        PostgresJobStore("postgresql://nobody:s3cret@127.0.0.1:1/none")
    assert "REELSERVE_DATABASE_URL" in caught.value.message and "s3cret" not in caught.value.message


def test_the_store_reconnects_after_the_server_drops_its_connections(pg_store: PostgresJobStore) -> None:
    """What a PostgreSQL restart or failover does to a running process: every connection is cut."""
    owner, _ = pg_store.create_key("k")
    job = submit(pg_store, owner.id, "m", BODY)
    with psycopg.connect(pg_store.url, autocommit=True) as admin:
        killed = admin.execute("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE application_name = 'reelserve' AND pid <> pg_backend_pid()").fetchone()[0]
    assert killed >= 1
    assert pg_store.get(job.id).id == job.id
    assert pg_store.claim("w", 30).id == job.id


def test_a_busy_connection_is_not_checked_on_every_checkout_but_a_cut_one_is_replaced(pg_store, monkeypatch) -> None:
    """A status poll is one round trip, not two: the pool checks a connection only when it may be stale.
    When the server cuts the connections (a restart), the next statements still answer, without a 503."""
    import reelserve.store.postgres as module

    checks: list[int] = []
    real_check = module.ConnectionPool.check_connection
    monkeypatch.setattr(module.ConnectionPool, "check_connection", lambda conn: checks.append(1) or real_check(conn))
    owner, _ = pg_store.create_key("k")
    job = submit(pg_store, owner.id, "m", BODY)
    checks.clear()
    for _ in range(20):
        assert pg_store.get_with_position(job.id, owner.id)[1] == 0
    assert checks == []
    with psycopg.connect(pg_store.url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE application_name = 'reelserve' AND pid <> pg_backend_pid()")
    for _ in range(5):
        assert pg_store.get_with_position(job.id, owner.id)[0].id == job.id  # retried once on a fresh connection
    assert pg_store.renew_lease(job.id, "nobody", 30) is False  # writes too
    monkeypatch.setattr(module, "STALE_AFTER_SECONDS", 0.0)  # now every checkout finds its connection stale
    pg_store.get(job.id)
    assert checks


def test_no_connection_to_be_had_is_a_retryable_503_error(pg_store: PostgresJobStore) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from reelserve.api.errors import status_and_code
    from reelserve.errors import StoreUnavailableError

    pg_store._pool.timeout = 0.2  # instead of 10 s: how long a call waits for a pooled connection
    held = [pg_store._pool.getconn() for _ in range(pg_store._pool.max_size)]
    try:
        with ThreadPoolExecutor(1) as pool, pytest.raises(StoreUnavailableError) as caught:
            pool.submit(pg_store.get, "any").result()
    finally:
        for conn in held:
            pg_store._pool.putconn(conn)
    assert status_and_code(caught.value) == (503, 503001) and caught.value.retry_after == 1
    assert pg_store.get("any") is None  # and fine again once connections free up
