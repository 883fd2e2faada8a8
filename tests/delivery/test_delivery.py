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
from urllib.parse import urlsplit

import pytest
import standardwebhooks

from reelserve.delivery import Deliverer, EventBodies, RetryPolicy, Sender
from reelserve.storage import LocalMediaStorage, UrlSigner
from reelserve.store import DeliveryState, JobStore, SqliteJobStore, Webhook
from reelserve.wire import result_body
from tests.jobs import submit
from tests.delivery.receiver import Answer, Received, Receiver, Reply, receiver

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
               retry: RetryPolicy = FAST, concurrency: int = 4, timeout: float = 2) -> Iterator[Deliverer]:
    deliverer = Deliverer(store, Sender(timeout_seconds=timeout, allow_private=allow_private),
                          EventBodies(store, storage), concurrency=concurrency, retry=retry, poll_seconds=0.05)
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


@pytest.mark.whole  # slow receivers, waited out: in `make test`, not the fast lane
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
    other = store.create_key("other")[0].id  # one key may hold only its share of the threads (the next test)
    with receiver([0.3]) as hook:  # each answer takes 0.3 s
        jobs = [submit(store, key, "m", BODY, webhook=Webhook(hook.url)) for key in (owner, other) * 3]
        thread = threading.Thread(target=deliverer.run, args=(stop,), daemon=True)
        thread.start()
        began = time.monotonic()
        for job in jobs:
            store.cancel(job.id, job.owner)
        assert time.monotonic() - began < 1.0  # the cancels never waited on the receiver
        wait_for(lambda: all(settled(store, j.id, 1) for j in jobs))
        stop.set()
        deliverer.wake()
        thread.join(10)
    assert most == 2 and len(hook.received) == 6


@pytest.mark.whole  # slow receivers, waited out: in `make test`, not the fast lane
def test_a_slow_key_holds_at_most_its_share_of_the_threads_and_another_keys_event_goes_at_once(
        store: JobStore, owner: str, storage: LocalMediaStorage) -> None:
    other = store.create_key("other")[0].id
    received_at: dict[str, float] = {}

    def decide(got: Received) -> Answer:
        received_at.setdefault(got.path, time.monotonic())
        return 2.0 if got.path.endswith("/slow") else 200  # key A's receivers each take 2 s

    with receiver(decide=decide) as hook, delivering(store, storage, concurrency=2, timeout=5):
        slow = [submit(store, owner, "m", BODY, webhook=Webhook(f"{hook.url}/{n}/slow")) for n in range(6)]
        for job in slow:
            store.cancel(job.id, owner)
        wait_for(lambda: len(hook.received) >= 1)
        time.sleep(0.3)  # key A's events are all due, and as many as it may have are in flight
        quick = submit(store, other, "m", BODY, webhook=Webhook(f"{hook.url}/quick"))
        cancelled_at = time.monotonic()
        store.cancel(quick.id, other)
        wait_for(lambda: settled(store, quick.id, 1))
        waited = received_at[f"{urlsplit(hook.url).path}/quick"] - cancelled_at
        assert sum(1 for r in hook.received if r.path.endswith("/slow")) == 1  # key A: one thread of two
    assert waited < 1.0, f"key B's event waited {waited:.1f} s behind key A's slow receivers"


@pytest.mark.whole  # a receiver trickling past the deadline: in `make test`, not the fast lane
def test_a_trickling_receiver_is_cut_at_the_deadline_and_never_attempted_twice_at_once(
        store: JobStore, owner: str, storage: LocalMediaStorage) -> None:
    one_try = RetryPolicy(first_delay_seconds=0.05, give_up_after_seconds=0.01)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    trickle = Reply(chunks=[head[i:i + 1] for i in range(len(head))] * 3, every=0.3, raw=True)  # 30 s of it
    with receiver([trickle]) as hook, delivering(store, storage, retry=one_try, timeout=1) as first, \
            delivering(store, storage, retry=one_try, timeout=1) as second:  # two processes, say
        job = submit(store, owner, "m", BODY, webhook=Webhook(hook.url))
        store.cancel(job.id, owner)
        wait_for(lambda: settled(store, job.id, 1), timeout=5)
    assert first.lease_seconds > first.sender.deadline_seconds and second.lease_seconds == first.lease_seconds
    [delivery] = store.webhook_deliveries(job.id)
    assert delivery.event.state is DeliveryState.FAILED and delivery.event.attempts == 1
    [attempt] = delivery.attempts
    assert attempt.error == "no answer within 1 s" and attempt.latency_ms < 1500, attempt
    assert len(hook.received) == 1 and max(hook.most_at_once.values()) == 1


@pytest.mark.parametrize("url", ["http://0127.0.0.1:9/x", "http://127.0.0.1..:9/x", "http://127.0.0.1:9/\x01",
                                 "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:9/"])
def test_an_event_whose_url_is_unusable_fails_on_its_first_attempt_with_the_reason(
        store: JobStore, owner: str, storage: LocalMediaStorage, url: str) -> None:
    # Accepted at submit before the parser was shared with the sender: such rows may be in a database.
    job = submit(store, owner, "m", BODY, webhook=Webhook(url))
    with delivering(store, storage):  # FAST: 30 s of retries, were it retried
        store.cancel(job.id, owner)
        wait_for(lambda: settled(store, job.id, 1))
    [delivery] = store.webhook_deliveries(job.id)
    assert delivery.event.state is DeliveryState.FAILED and delivery.event.attempts == 1
    assert delivery.attempts[0].error.startswith("unusable URL: it ") and delivery.attempts[0].status_code is None


def test_an_unexpected_error_is_recorded_as_the_attempts_error_and_retried_on_schedule(
        store: JobStore, owner: str, storage: LocalMediaStorage, caplog: pytest.LogCaptureFixture) -> None:
    def broken(event):  # noqa: ANN001, ANN202 - a bug in building the body
        raise RuntimeError("the body could not be built")

    retries = RetryPolicy(first_delay_seconds=0.05, max_delay_seconds=0.05, give_up_after_seconds=0.3)
    deliverer = Deliverer(store, Sender(timeout_seconds=2, allow_private=True), broken, retry=retries,
                          poll_seconds=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=deliverer.run, args=(stop,), daemon=True)
    with receiver([200]) as hook:
        job = submit(store, owner, "m", BODY, webhook=Webhook(hook.url))
        thread.start()
        store.cancel(job.id, owner)
        wait_for(lambda: settled(store, job.id, 1))
        stop.set()
        deliverer.wake()
        thread.join(10)
    [delivery] = store.webhook_deliveries(job.id)
    assert delivery.event.state is DeliveryState.FAILED and hook.received == []
    assert 2 <= len(delivery.attempts) <= 12  # on the retry schedule (0.05 s for 0.3 s), not every lease
    assert all(a.error == "internal error: RuntimeError: the body could not be built" for a in delivery.attempts)
    tracebacks = [r for r in caplog.records if r.exc_info and r.name.startswith("reelserve.delivery")]
    assert len(tracebacks) == len(delivery.attempts)  # one per attempt, each recorded
