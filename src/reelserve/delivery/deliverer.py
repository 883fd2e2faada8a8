"""The delivery loop: claim due events with a lease, send each on a bounded pool, record the outcome.

Any number of processes run one (every `reelserve serve` and `reelserve worker`). An event is
claimed with a lease, like a job, so two processes never send the same attempt at once; a process
that dies mid-attempt leaves the lease to run out, and the attempt is made again elsewhere
(at-least-once: receivers dedupe on `webhook-id`). The pool is this process's own and bounded, so a
slow or dead receiver holds at most `concurrency` threads here and never the API or the GPU; and one
API key holds at most its share of them (`KEY_SHARE`), so its slow receivers never delay another key's
webhooks by more than they take to free a thread of that key's own.

An attempt is bounded by the sender's deadline, and the lease outlasts it (`lease_for`), so an event
is never attempted twice at once while its first attempt's process lives.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from reelserve.delivery.retry import RetryPolicy
from reelserve.delivery.sender import Began, Sender
from reelserve.errors import UnavailableError
from reelserve.store import JobStore, WebhookAttempt, WebhookEvent
from reelserve.webhooks import signed_headers

log = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 20.0  # beyond the attempt's deadline: time to sign, build the body and record the outcome
KEY_SHARE = 0.5  # of the delivery threads, the most one API key's attempts may hold at once


def lease_for(deadline_seconds: float) -> float:
    """An event's lease, from the deadline of one attempt: longer, so that no other process claims the
    event while its attempt may still be running (the one place the two are tied)."""
    return deadline_seconds + LEASE_MARGIN_SECONDS


def key_share(concurrency: int) -> int:
    """How many of `concurrency` threads one API key's attempts may hold: at least one."""
    return max(1, int(concurrency * KEY_SHARE))


def new_deliverer_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:webhooks:{secrets.token_hex(3)}"


class Deliverer:
    """`run(stop)` in a thread of its own; `body_for(event)` builds an attempt's body (delivery/payload.py)."""

    def __init__(self, store: JobStore, sender: Sender, body_for: Callable[[WebhookEvent], bytes], *,
                 concurrency: int = 8, retry: RetryPolicy = RetryPolicy(), poll_seconds: float = 1.0,
                 owner_id: str | None = None) -> None:
        self.store, self.sender, self.body_for = store, sender, body_for
        self.owner_id = owner_id or new_deliverer_id()
        self.retry, self.poll_seconds = retry, poll_seconds
        self.lease_seconds = lease_for(sender.deadline_seconds)
        self.per_key = key_share(concurrency)
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="webhook")
        self._free = threading.Semaphore(concurrency)
        self._wake = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set (then call `wake()`); attempts in flight then finish, each bounded
        by the sender's deadline. An event whose attempt is cut short (the process dies) keeps its lease
        until it runs out, and is then attempted again, here or elsewhere."""
        unsubscribe = self.store.subscribe_webhooks(self._wake.set)
        try:
            while not stop.is_set():
                self._wake.clear()  # before claiming: news that lands during the claim is kept
                if not self._claim():
                    self._wake.wait(self.poll_seconds)
        finally:
            unsubscribe()
            self._pool.shutdown(wait=True)

    def wake(self) -> None:
        self._wake.set()

    def _claim(self) -> int:
        """Claim as many due events as there are free threads, and start them; how many were started."""
        slots = 0
        while self._free.acquire(blocking=False):
            slots += 1
        if not slots:
            return 0  # every thread busy: a finishing attempt wakes the loop
        try:
            events = self.store.claim_webhook_events(self.owner_id, slots, self.lease_seconds, self.per_key)
        except UnavailableError as exc:
            log.warning("webhook delivery paused: %s", exc.message)
            events = []
        for _ in range(slots - len(events)):
            self._free.release()
        for event in events:
            self._pool.submit(self._attempt, event)
        return len(events)

    def _attempt(self, event: WebhookEvent) -> None:
        try:
            self._record(event, self._send(event))
        except Exception:  # the store failed (it is down): the lease runs out and the attempt is made again
            log.exception("webhook %s: the attempt was not recorded; it is made again when its lease runs out",
                          event.id)
        finally:
            self._free.release()
            self._wake.set()  # a slot is free

    def _send(self, event: WebhookEvent) -> WebhookAttempt:
        """The event's next attempt, numbered."""
        began = Began()
        try:
            body = self.body_for(event)
            headers = signed_headers(self.store.webhook_secret(event.owner), event.id, body)
            sent = self.sender.send(event.url, body, headers)
        except UnavailableError:
            raise  # the store is down, not the attempt: nothing can be recorded now
        except Exception as exc:  # a bug: kept in the attempt log and retried on schedule, never every lease
            log.exception("webhook %s: the attempt failed unexpectedly", event.id)
            sent = WebhookAttempt(began.at, None, began.elapsed_ms(), _internal_error(exc))
        return dataclasses.replace(sent, attempt=event.attempts + 1)

    def _record(self, event: WebhookEvent, attempt: WebhookAttempt) -> None:
        now = self.store.clock()  # the clock the store's claims compare the next attempt's time with
        again = not (attempt.delivered or attempt.final)
        next_at = self.retry.next_attempt(event.created_at, attempt.attempt, now) if again else None
        kept = self.store.record_webhook_attempt(event, self.owner_id, attempt, next_at)
        what = "delivered" if attempt.delivered else (f"next attempt at {next_at:%H:%M:%S}" if next_at else "gave up")
        log.info("webhook %s attempt %d: %s (%s)%s", event.id, attempt.attempt, attempt.status_code or attempt.error,
                 what if kept else "its lease ran out: not recorded", _answer_note(attempt))


def _internal_error(exc: Exception) -> str:
    # Short and storable: the attempt log is a text column, and PostgreSQL's text refuses NUL.
    return f"internal error: {type(exc).__name__}: {exc}"[:500].replace("\x00", "\\x00")


def _answer_note(attempt: WebhookAttempt) -> str:
    """A refusing receiver's own words (the start of its answer), for the log; nothing for a 2xx."""
    if attempt.delivered or not attempt.answer:
        return ""
    return f"; it answered {attempt.answer[:200].decode('utf-8', 'replace')!r}"


class DeliveryThread:
    """A `Deliverer` running in a daemon thread of its own, beside an API or a worker."""

    def __init__(self, deliverer: Deliverer) -> None:
        self.deliverer = deliverer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=deliverer.run, args=(self._stop,), name="webhook-delivery", daemon=True)

    def start(self) -> DeliveryThread:
        self._thread.start()
        return self

    def stop(self, timeout: float) -> None:
        """Claim nothing more and wait up to `timeout` for attempts in flight; one still running then is
        left to its lease (attempted again once that runs out)."""
        self._stop.set()
        self.deliverer.wake()
        self._thread.join(timeout)
