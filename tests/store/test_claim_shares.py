"""The outbox claim's shares between API keys, on SQLite and PostgreSQL: one delivery loop holds at most
`per_owner` of any one key's events, and keys take turns. The loop's side: tests/delivery/test_delivery.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelserve.store import JobStore, SqliteJobStore, Webhook, WebhookAttempt, utcnow
from reelserve.store.postgres import PostgresJobStore
from tests.jobs import submit

HOOK = Webhook("https://hooks.example.com/in")  # never contacted: no sender runs here


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    if request.param == "postgres":
        store: JobStore = PostgresJobStore(request.getfixturevalue("pg_url"), pool_size=2)
    else:
        store = SqliteJobStore(tmp_path / "q.db")
    store.migrate()
    yield store
    store.close()


def _events(store: JobStore, owner: str, count: int) -> None:
    for _ in range(count):
        store.cancel(submit(store, owner, "m", {"prompt": "a cat"}, webhook=HOOK).id, owner)


def test_a_claim_takes_each_keys_turn_and_no_more_than_its_share(store: JobStore) -> None:
    a, b, c = (store.create_key(name)[0].id for name in "abc")
    _events(store, a, 5)  # the oldest: they would fill every slot, oldest first
    _events(store, b, 2)
    _events(store, c, 1)
    first = store.claim_webhook_events("d", 4, 30, per_owner=2)
    assert Counter(e.owner for e in first) == {a: 2, b: 1, c: 1}  # one each, then the oldest second
    second = store.claim_webhook_events("d", 4, 30, per_owner=2)
    assert Counter(e.owner for e in second) == {b: 1}  # a holds its 2 already; c has no more
    assert store.claim_webhook_events("other", 10, 30, per_owner=2) != []  # shares are per delivery loop


def test_a_recorded_attempt_frees_its_keys_share(store: JobStore) -> None:
    a = store.create_key("a")[0].id
    _events(store, a, 3)
    [held] = store.claim_webhook_events("d", 4, 30, per_owner=1)
    assert store.claim_webhook_events("d", 4, 30, per_owner=1) == []
    store.record_webhook_attempt(held, "d", WebhookAttempt(at=utcnow(), status_code=200, latency_ms=1.0, attempt=1), None)
    assert len(store.claim_webhook_events("d", 4, 30, per_owner=1)) == 1


def test_without_a_share_keys_still_take_turns(store: JobStore) -> None:
    a, b = (store.create_key(name)[0].id for name in "ab")
    _events(store, a, 3)
    _events(store, b, 1)
    assert Counter(e.owner for e in store.claim_webhook_events("d", 3, 30)) == {a: 2, b: 1}
