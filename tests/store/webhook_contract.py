"""The JobStore contract for webhooks and change news: the outbox written with the change it
announces, leased deliveries fenced like jobs, signing secrets, and the `subscribe_*` hints.
Mixed into each backend's test class beside StoreContract."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from reelserve.errors import LeaseLostError
from reelserve.store import DeliveryState, JobStore, Status, Webhook, WebhookAttempt, WebhookEvent, utcnow
from reelserve.store import wake
from tests.jobs import submit
from tests.store.clock import MovableClock

BODY = {"prompt": "a cat", "duration": 5}
HOOK = Webhook("https://hooks.example.com/in")
HOOK_WITH_START = Webhook("https://hooks.example.com/in", frozenset({"started"}))


def types(store: JobStore, job_id: str) -> list[str]:
    return [d.event.type for d in store.webhook_deliveries(job_id)]


def attempt(n: int, status_code: int | None, error: str | None = None) -> WebhookAttempt:
    return WebhookAttempt(attempt=n, at=utcnow(), status_code=status_code, latency_ms=12.5, error=error)


class WebhookStoreContract:
    def test_a_job_keeps_its_webhook(self, store: JobStore, owner: str) -> None:
        job = submit(store, owner, "m", BODY, webhook=HOOK_WITH_START)
        assert store.get(job.id).webhook == HOOK_WITH_START
        assert store.get(submit(store, owner, "m", BODY).id).webhook is None

    def test_every_ending_is_announced_and_start_only_when_asked(self, store: JobStore, owner: str) -> None:
        done, failed, cancelled, quiet = (submit(store, owner, "m", BODY, webhook=w)
                                          for w in (HOOK_WITH_START, HOOK, HOOK, HOOK))
        store.cancel(cancelled.id, owner)
        assert store.claim("w", 30).id == done.id
        store.complete(done.id, "w", "k", {})
        assert store.claim("w", 30).id == failed.id
        store.fail(failed.id, "w", "oops", "it broke", {})
        assert types(store, done.id) == ["request.started", "request.completed"]
        assert types(store, failed.id) == ["request.failed"]  # it did not ask for `started`
        assert types(store, cancelled.id) == ["request.cancelled"]
        assert types(store, quiet.id) == []
        event = store.webhook_deliveries(done.id)[1].event
        assert (event.id, event.owner, event.url, event.state) == (
            f"msg_{done.id}_completed", owner, HOOK.url, DeliveryState.PENDING)

    def test_a_job_without_a_webhook_writes_no_events(self, store: JobStore, owner: str) -> None:
        job = submit(store, owner, "m", BODY)
        store.claim("w", 30)
        store.complete(job.id, "w", "k", {})
        assert store.webhook_deliveries(job.id) == []
        assert store.claim_webhook_events("d", 10, 30) == []

    def test_a_change_that_does_not_commit_announces_nothing(self, store: JobStore, owner: str) -> None:
        job = submit(store, owner, "m", BODY, webhook=HOOK)
        store.claim("w", 30)
        with pytest.raises(LeaseLostError):
            store.complete(job.id, "someone-else", "k", {})
        assert types(store, job.id) == []
        store.cancel(job.id, owner)  # running: not cancellable, so not announced
        assert types(store, job.id) == []

    def test_a_requeued_job_announces_its_start_once(self, store: JobStore, owner: str, clock: MovableClock) -> None:
        job = submit(store, owner, "m", BODY, webhook=HOOK_WITH_START)
        store.claim("w1", 30)
        clock.advance(3600)
        assert store.reap_expired_leases().requeued == [job.id]
        assert store.claim("w2", 30).id == job.id
        assert types(store, job.id) == ["request.started"]

    def test_an_interrupted_job_announces_its_failure(self, store: JobStore, owner: str, clock: MovableClock) -> None:
        job = submit(store, owner, "m", BODY, webhook=HOOK)
        for n in range(3):
            assert store.claim(f"w{n}", 30).id == job.id
            clock.advance(3600)
            store.reap_expired_leases(max_attempts=3)
        assert store.get(job.id).status is Status.FAILED
        assert types(store, job.id) == ["request.failed"]

    def test_deliveries_are_leased_and_fenced(self, store: JobStore, owner: str, clock: MovableClock) -> None:
        job = submit(store, owner, "m", BODY, webhook=HOOK)
        store.cancel(job.id, owner)
        [event] = store.claim_webhook_events("d1", 10, 30)
        assert store.claim_webhook_events("d2", 10, 30) == []  # leased to d1
        assert store.record_webhook_attempt(event, "d2", attempt(1, 200), None) is False
        retry_at = clock() + timedelta(hours=1)
        assert store.record_webhook_attempt(event, "d1", attempt(1, 500), retry_at) is True
        assert store.record_webhook_attempt(event, "d1", attempt(1, 200), None) is False  # the lease went with it
        assert store.claim_webhook_events("d2", 10, 30) == []  # not due for an hour
        [delivery] = store.webhook_deliveries(job.id)
        assert (delivery.event.state, delivery.event.attempts) == (DeliveryState.PENDING, 1)
        assert abs((delivery.event.next_attempt_at - retry_at).total_seconds()) < 1e-3
        assert [(a.attempt, a.status_code, a.latency_ms) for a in delivery.attempts] == [(1, 500, 12.5)]

    def test_an_event_ends_delivered_or_failed(self, store: JobStore, owner: str) -> None:
        ok, dead = (submit(store, owner, "m", BODY, webhook=HOOK) for _ in range(2))
        store.cancel(ok.id, owner)
        store.cancel(dead.id, owner)
        events = {e.job_id: e for e in store.claim_webhook_events("d", 10, 30)}
        store.record_webhook_attempt(events[ok.id], "d", attempt(1, 204), None)
        store.record_webhook_attempt(events[dead.id], "d", attempt(1, None, "refused: 10.0.0.1 is a private address"),
                                     None)
        assert store.webhook_deliveries(ok.id)[0].event.state is DeliveryState.DELIVERED
        [failed] = store.webhook_deliveries(dead.id)
        assert failed.event.state is DeliveryState.FAILED
        assert failed.attempts[0].error == "refused: 10.0.0.1 is a private address"
        assert store.claim_webhook_events("d", 10, 0.01) == []

    def test_an_abandoned_lease_runs_out_and_the_event_is_claimed_again(self, store: JobStore, owner: str,
                                                                        clock: MovableClock) -> None:
        job = submit(store, owner, "m", BODY, webhook=HOOK)
        store.cancel(job.id, owner)
        [first] = store.claim_webhook_events("dies", 10, 30)
        assert store.claim_webhook_events("lives", 10, 30) == []
        clock.advance(31)
        [again] = store.claim_webhook_events("lives", 10, 30)
        assert again.id == first.id and again.attempts == 0
        assert store.record_webhook_attempt(first, "dies", attempt(1, 200), None) is False
        assert store.record_webhook_attempt(again, "lives", attempt(1, 200), None) is True

    def test_concurrent_delivery_loops_never_hold_the_same_event(self, store: JobStore, owner: str) -> None:
        for _ in range(40):
            store.cancel(submit(store, owner, "m", BODY, webhook=HOOK).id, owner)
        barrier = threading.Barrier(4)

        def loop(n: int) -> list[str]:
            barrier.wait()
            got: list[str] = []
            while batch := store.claim_webhook_events(f"d{n}", 3, 30):
                got += [e.id for e in batch]
            return got

        with ThreadPoolExecutor(4) as pool:
            claimed = [i for ids in pool.map(loop, range(4)) for i in ids]
        assert len(claimed) == 40 and len(set(claimed)) == 40

    def test_the_signing_secret_is_made_once_and_rotated(self, store: JobStore, owner: str) -> None:
        with ThreadPoolExecutor(4) as pool:
            secrets_seen = set(pool.map(lambda _: store.webhook_secret(owner), range(8)))
        assert len(secrets_seen) == 1 and next(iter(secrets_seen)).startswith("whsec_")
        [first] = secrets_seen
        rotated = store.rotate_webhook_secret(owner)
        assert rotated is not None and rotated != first and store.webhook_secret(owner) == rotated
        assert store.rotate_webhook_secret("key_nope") is None

    def test_expiring_a_job_forgets_its_events(self, store: JobStore, owner: str) -> None:
        job = submit(store, owner, "m", BODY, webhook=HOOK)
        store.cancel(job.id, owner)
        [event] = store.claim_webhook_events("d", 10, 30)
        store.record_webhook_attempt(event, "d", attempt(1, 200), None)
        store.expire([job.id])
        assert store.webhook_deliveries(job.id) == []

    def test_a_written_event_wakes_the_delivery_loop(self, store: JobStore, owner: str) -> None:
        woken = threading.Event()
        unsubscribe = store.subscribe_webhooks(woken.set)
        try:
            time.sleep(0.2)  # PostgreSQL's listener connects, and calls once on connecting
            woken.clear()
            job = submit(store, owner, "m", BODY, webhook=HOOK)
            assert not woken.is_set()  # a submit announces nothing
            store.cancel(job.id, owner)
            assert woken.wait(5)
        finally:
            unsubscribe()

    def test_changes_name_the_job_or_the_queue(self, store: JobStore, owner: str) -> None:
        api_side = self.open_again(store)
        heard: list[str] = []
        unsubscribe = store.subscribe_changes(heard.append)
        try:
            time.sleep(0.2)
            heard.clear()
            job = submit(api_side, owner, "m", BODY)
            api_side.claim("w", 30)
            api_side.set_progress(job.id, "w", 50)
            api_side.complete(job.id, "w", "k", {})
            # Told directly, in the committing thread: in order, and once each.
            assert heard == [wake.QUEUE_MOVED, job.id, job.id]
        finally:
            unsubscribe()
            api_side.close()


def webhook_event(**fields: object) -> WebhookEvent:  # for tests that build one by hand
    values: dict[str, object] = {"id": "msg_x_completed", "job_id": "x", "owner": "key_x", "type": "request.completed",
                                 "url": HOOK.url, "created_at": utcnow()}
    return WebhookEvent(**(values | fields))  # type: ignore[arg-type]
