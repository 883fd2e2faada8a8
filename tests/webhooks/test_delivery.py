"""The delivery loop against a real receiver on 127.0.0.1: the real store (SQLite), sender and bodies.

Events are made the way production makes them (a claim, a completion, a failure, a cancel on the
store); the loop runs in a thread as it does beside `reelserve serve`, with retries shortened.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import standardwebhooks

from reelserve.api.wire import result_body
from reelserve.delivery import Deliverer, EventBodies, RetryPolicy, Sender
from reelserve.storage import LocalMediaStorage, UrlSigner
from reelserve.store import DeliveryState, JobStore, SqliteJobStore, Webhook
from tests.jobs import submit
from tests.webhooks.receiver import Receiver, receiver

BODY = {"prompt": "a cat", "duration": 5}
FAST = RetryPolicy(first_delay_seconds=0.05, max_delay_seconds=0.2, give_up_after_seconds=30)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    store = SqliteJobStore(tmp_path / "q.db")
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def owner(store: JobStore) -> str:
    return store.create_key("hooks")[0].id


@pytest.fixture
def storage(tmp_path: Path) -> LocalMediaStorage:
    return LocalMediaStorage(tmp_path / "media", "http://127.0.0.1:9", UrlSigner(b"k", 3600))


@contextmanager
def delivering(store: JobStore, storage: LocalMediaStorage, *, allow_private: bool = True,
               retry: RetryPolicy = FAST, concurrency: int = 4) -> Iterator[Deliverer]:
    deliverer = Deliverer(store, Sender(timeout_seconds=2, allow_private=allow_private), EventBodies(store, storage),
                          concurrency=concurrency, retry=retry, poll_seconds=0.05, timeout_seconds=2)
    stop = threading.Event()
    thread = threading.Thread(target=deliverer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield deliverer
    finally:
        stop.set()
        deliverer.wake()
        thread.join(10)
        assert not thread.is_alive()


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def settled(store: JobStore, job_id: str, count: int) -> bool:
    deliveries = store.webhook_deliveries(job_id)
    return len(deliveries) == count and all(d.event.state is not DeliveryState.PENDING for d in deliveries)


def run_all_endings(store: JobStore, owner: str, hook: Receiver) -> dict[str, str]:
    """One job per ending, the first also asking for its start; their ids by ending."""
    webhook, with_start = Webhook(hook.url), Webhook(hook.url, frozenset({"started"}))
    done = submit(store, owner, "m", BODY, webhook=with_start)
    failed = submit(store, owner, "m", BODY, webhook=webhook)
    cancelled = submit(store, owner, "m", BODY, webhook=webhook)
    store.cancel(cancelled.id, owner)
    store.claim("w", 30)
    store.complete(done.id, "w", f"{done.id}/1/video.mp4", {"seed": 1}, poster_key=f"{done.id}/1/poster.jpg")
    store.claim("w", 30)
    store.fail(failed.id, "w", "engine_error", "it broke", {})
    return {"completed": done.id, "failed": failed.id, "cancelled": cancelled.id}


def test_every_event_type_verifies_with_the_standardwebhooks_package(store: JobStore, owner: str,
                                                                     storage: LocalMediaStorage) -> None:
    with receiver([200]) as hook, delivering(store, storage):
        ids = run_all_endings(store, owner, hook)
        wait_for(lambda: len(hook.received) == 4)
    verifier = standardwebhooks.Webhook(store.webhook_secret(owner))
    events = {}
    for got in hook.received:
        event = verifier.verify(got.body, got.headers)  # raises unless genuine
        assert got.headers["webhook-id"] == f"msg_{event['data']['request_id']}_{event['type'].split('.')[1]}"
        events[event["type"]] = event
        tampered = got.body.replace(b'"request_id"', b'"request_Id"')
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            verifier.verify(tampered, got.headers)
    assert set(events) == {"request.started", "request.completed", "request.failed", "request.cancelled"}
    for kind, job_id in ids.items():
        data = events[f"request.{kind}"]["data"]
        job = store.get(job_id)
        expected = json.loads(json.dumps(result_body(job, None)))
        assert {k: v for k, v in data.items() if k != "output"} == expected
    completed = events["request.completed"]["data"]
    assert completed["output"]["video"].startswith("http://127.0.0.1:9/media/") and "signature=" in completed["output"]["video"]
    assert completed["metadata"] == {"seed": 1}
    assert events["request.failed"]["data"]["error"] == {"code": "engine_error", "message": "it broke"}
    started = events["request.started"]["data"]
    assert started["status"] == "in_progress" and started["finished_at"] is None and "output" not in started
    assert events["request.completed"]["timestamp"].endswith("Z")


def test_500_500_200_is_delivered_on_the_third_attempt_with_one_webhook_id(store: JobStore, owner: str,
                                                                           storage: LocalMediaStorage) -> None:
    with receiver([500, 500, 200]) as hook, delivering(store, storage):
        job = submit(store, owner, "m", BODY, webhook=Webhook(hook.url))
        store.cancel(job.id, owner)
        wait_for(lambda: settled(store, job.id, 1))
    assert [r.headers["webhook-id"] for r in hook.received] == [f"msg_{job.id}_cancelled"] * 3
    [delivery] = store.webhook_deliveries(job.id)
    assert delivery.event.state is DeliveryState.DELIVERED and delivery.event.attempts == 3
    assert [a.status_code for a in delivery.attempts] == [500, 500, 200]
    assert all(a.latency_ms > 0 and a.error is None for a in delivery.attempts)
    gaps = [(b.at - a.at).total_seconds() for a, b in zip(delivery.attempts, delivery.attempts[1:])]
    assert all(gap >= 0.04 for gap in gaps), gaps  # backed off (0.05 s, then 0.1 s, less jitter)


def test_a_name_resolving_to_loopback_is_refused_at_delivery_unless_allowed(store: JobStore, owner: str,
                                                                           storage: LocalMediaStorage) -> None:
    one_try = RetryPolicy(first_delay_seconds=0.05, give_up_after_seconds=0.01)
    with receiver([200]) as hook:
        url = hook.url.replace("127.0.0.1", "localhost")  # resolved from /etc/hosts: no DNS query leaves
        refused, allowed = (submit(store, owner, "m", BODY, webhook=Webhook(url)) for _ in range(2))
        with delivering(store, storage, allow_private=False, retry=one_try):
            store.cancel(refused.id, owner)
            wait_for(lambda: settled(store, refused.id, 1))
        assert hook.received == []
        with delivering(store, storage, allow_private=True, retry=one_try):
            store.cancel(allowed.id, owner)
            wait_for(lambda: settled(store, allowed.id, 1))
        assert len(hook.received) == 1
    [delivery] = store.webhook_deliveries(refused.id)
    assert delivery.event.state is DeliveryState.FAILED
    assert delivery.attempts[0].status_code is None
    assert delivery.attempts[0].error == "refused: localhost resolves to 127.0.0.1 is a loopback address"
    assert store.webhook_deliveries(allowed.id)[0].event.state is DeliveryState.DELIVERED


def test_a_slow_receiver_holds_only_the_loops_own_threads(store: JobStore, owner: str,
                                                          storage: LocalMediaStorage) -> None:
    in_flight, most = 0, 0
    lock = threading.Lock()

    class Counting(Sender):
        def send(self, url, body, headers):  # type: ignore[no-untyped-def]
            nonlocal in_flight, most
            with lock:
                in_flight += 1
                most = max(most, in_flight)
            try:
                return super().send(url, body, headers)
            finally:
                with lock:
                    in_flight -= 1

    deliverer = Deliverer(store, Counting(timeout_seconds=5, allow_private=True), EventBodies(store, storage),
                          concurrency=2, retry=FAST, poll_seconds=0.05)
    stop = threading.Event()
    with receiver([0.3]) as hook:  # each answer takes 0.3 s
        jobs = [submit(store, owner, "m", BODY, webhook=Webhook(hook.url)) for _ in range(6)]
        thread = threading.Thread(target=deliverer.run, args=(stop,), daemon=True)
        thread.start()
        began = time.monotonic()
        for job in jobs:
            store.cancel(job.id, owner)
        assert time.monotonic() - began < 1.0  # the cancels never waited on the receiver
        wait_for(lambda: all(settled(store, j.id, 1) for j in jobs))
        stop.set()
        deliverer.wake()
        thread.join(10)
    assert most == 2 and len(hook.received) == 6
