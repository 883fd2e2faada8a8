"""Generating and publishing overlap: request N+1 generates while N is encoded, uploaded and completed.

The storage below is the real local storage with a gate in front of each upload, so a test can hold
a request in its publishing step for as long as it needs; everything else is the production worker.
"""

from __future__ import annotations

import pytest

import threading
import time
from pathlib import Path

import numpy as np

from reelserve.engines.base import EngineInfo
from reelserve.media import Clip
from reelserve.store import Status
from reelserve.worker import Worker, WorkerState
from tests.jobs import submit
from tests.polling import wait_for
from tests.worker.driving import SHORT_LEASE_SECONDS, STARTED_TIMEOUT_SECONDS, worker_for

STANDARD = "kling/kling-3.0/standard/text-to-video"
HOLD_SECONDS = 1.0  # how long a test holds a request at its upload: far above a loaded machine's thread wake-up


class CountingEngine:
    """Returns a small real clip after `seconds`, recording which prompts it generated, in order."""

    info = EngineInfo(family="counting", weights="none", random_weights=True, device="cpu", dtype="uint8")

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.generated: list[str] = []

    def generate(self, spec, on_progress=None):
        self.generated.append(spec.prompt)
        for _ in range(max(1, round(self.seconds / 0.05))):
            time.sleep(0.05)
            if on_progress is not None:
                on_progress(50.0)
        return Clip(frames=np.full((4, 64, 64, 3), 7, dtype=np.uint8), fps=24, audio=None, sample_rate=None)


class GatedStorage:
    """The real storage; each upload of a request waits until the test opens that request's gate."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.gates: dict[str, threading.Event] = {}
        self.arrived: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def gate(self, job_id: str) -> threading.Event:
        with self._lock:
            self.arrived.setdefault(job_id, threading.Event())
            return self.gates.setdefault(job_id, threading.Event())

    def wait_uploading(self, job_id: str, timeout: float = STARTED_TIMEOUT_SECONDS) -> bool:
        """Whether `job_id`'s upload reached its (closed) gate within `timeout`: it is publishing, held."""
        self.gate(job_id)
        return self.arrived[job_id].wait(timeout)

    def put(self, key: str, source: Path) -> None:
        job_id = key.split("/", 1)[0]
        gate = self.gate(job_id)
        self.arrived[job_id].set()
        assert gate.wait(STARTED_TIMEOUT_SECONDS), "the test never opened the gate"
        self.inner.put(key, source)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def submit_all(store, owner: str, *prompts: str):
    return [submit(store, owner, STANDARD, {"prompt": prompt, "duration": 3}) for prompt in prompts]


def start(settings, store, storage, engine, *, lease: float = 30) -> tuple[Worker, threading.Event, threading.Thread]:
    worker = worker_for(settings, store, storage, engine, lease_seconds=lease)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return worker, stop, thread


def stop_worker(worker: Worker, stop: threading.Event, thread: threading.Thread) -> None:
    stop.set()
    worker.wake()
    thread.join(timeout=STARTED_TIMEOUT_SECONDS)
    assert not thread.is_alive(), "the worker did not stop"


def test_the_next_request_generates_while_the_last_one_publishes_and_at_most_one_clip_waits(settings, parts) -> None:
    store, inner, owner = parts
    storage, engine = GatedStorage(inner), CountingEngine()
    first, second, third = submit_all(store, owner, "a", "b", "c")
    worker, stop, thread = start(settings, store, storage, engine)
    try:
        assert storage.wait_uploading(first.id)  # the first is publishing, held
        wait_for(lambda: engine.generated == ["a", "b"])  # ... and the second was generated meanwhile
        time.sleep(HOLD_SECONDS)  # the second clip waits for the publisher; the third must not be claimed
        third_status = store.get(third.id).status
        assert engine.generated == ["a", "b"] and third_status is Status.IN_QUEUE, (engine.generated, third_status)
        assert sorted(worker.jobs_in_hand()) == sorted([first.id, second.id]), worker.jobs_in_hand()
        assert worker.state is WorkerState.RUNNING, worker.state
        for job in (first, second, third):
            storage.gate(job.id).set()
        wait_for(lambda: all(store.get(j.id).status is Status.COMPLETED for j in (first, second, third)))
        wait_for(lambda: worker.state is WorkerState.IDLE)
    finally:
        stop_worker(worker, stop, thread)
    assert engine.generated == ["a", "b", "c"]
    waits = [store.get(j.id).metadata["timings"]["publish_wait_seconds"] for j in (first, second, third)]
    assert waits[1] >= HOLD_SECONDS / 2 > waits[0], (
        f"publish waits {waits[:2]} s: the second clip should wait for the publisher (held {HOLD_SECONDS} s), the "
        "first not")


@pytest.mark.whole  # waits out several short leases: in `make test`, not the fast lane
def test_a_request_being_published_keeps_its_lease(settings, parts) -> None:
    """An upload held for four leases, a reaper running all along: it completes on attempt 1."""
    store, inner, owner = parts
    storage = GatedStorage(inner)
    (job,) = submit_all(store, owner, "a")
    worker, stop, thread = start(settings, store, storage, CountingEngine(), lease=SHORT_LEASE_SECONDS)
    try:
        assert storage.wait_uploading(job.id)
        deadline = time.monotonic() + 4 * SHORT_LEASE_SECONDS
        while time.monotonic() < deadline:
            reaped = store.reap_expired_leases()
            assert reaped.requeued == [] and reaped.interrupted == [], f"the lease lapsed while publishing: {reaped}"
            time.sleep(0.05)
        storage.gate(job.id).set()
        wait_for(lambda: store.get(job.id).status is Status.COMPLETED)
    finally:
        stop_worker(worker, stop, thread)
    assert store.get(job.id).attempts == 1


def test_a_shutdown_drains_both_sides(settings, parts) -> None:
    store, inner, owner = parts
    storage, engine = GatedStorage(inner), CountingEngine(seconds=0.5)
    first, second = submit_all(store, owner, "a", "b")
    worker, stop, thread = start(settings, store, storage, engine)
    assert storage.wait_uploading(first.id)
    wait_for(lambda: engine.generated == ["a", "b"])  # the second is generating
    stop.set()
    worker.wake()
    threading.Timer(0.3, storage.gate(first.id).set).start()
    threading.Timer(0.3, storage.gate(second.id).set).start()
    assert worker.drain(30) is True
    thread.join(timeout=STARTED_TIMEOUT_SECONDS)
    assert worker.state is WorkerState.STOPPED
    assert all(store.get(j.id).status is Status.COMPLETED for j in (first, second))


def test_a_shutdown_past_its_grace_period_hands_both_jobs_back(settings, parts) -> None:
    store, inner, owner = parts
    storage, engine = GatedStorage(inner), CountingEngine(seconds=0.1)
    first, second = submit_all(store, owner, "a", "b")
    worker, stop, thread = start(settings, store, storage, engine)
    assert storage.wait_uploading(first.id)
    wait_for(lambda: len(worker.jobs_in_hand()) == 2 and engine.generated == ["a", "b"])
    stop.set()
    worker.wake()
    assert worker.drain(0.2) is False  # both are still in hand: the first held at its upload, the second waiting
    assert {store.get(j.id).status for j in (first, second)} == {Status.IN_QUEUE}
    storage.gate(first.id).set()  # the upload goes through, but the fenced completion refuses it
    storage.gate(second.id).set()
    thread.join(timeout=STARTED_TIMEOUT_SECONDS)
    assert not thread.is_alive() and worker.state is WorkerState.STOPPED
    assert {store.get(j.id).status for j in (first, second)} == {Status.IN_QUEUE}
    assert not list((settings.data_dir / "media").rglob("*.mp4")), "a handed-back job's upload was kept"


def test_cancel_still_works_only_while_queued(settings, parts) -> None:
    """A clip waiting for the publisher is in progress: cancel refuses it as before, and it completes.
    A request still queued behind it is cancelled and never generated."""
    store, inner, owner = parts
    storage, engine = GatedStorage(inner), CountingEngine()
    first, second, third = submit_all(store, owner, "a", "b", "c")
    worker, stop, thread = start(settings, store, storage, engine)
    try:
        assert storage.wait_uploading(first.id)
        wait_for(lambda: engine.generated == ["a", "b"])
        assert store.cancel(second.id, owner).status is Status.IN_PROGRESS  # the answer an in-progress cancel gets
        assert store.cancel(third.id, owner).status is Status.CANCELLED
        for job in (first, second, third):
            storage.gate(job.id).set()
        wait_for(lambda: store.get(second.id).status is Status.COMPLETED)
        time.sleep(0.2)
    finally:
        stop_worker(worker, stop, thread)
    assert engine.generated == ["a", "b"] and store.get(third.id).status is Status.CANCELLED
