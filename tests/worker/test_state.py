"""The worker's explicit states and its lease: every move is one the diagram allows, checked."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from reelserve.engines.base import EngineInfo
from reelserve.errors import LeaseLostError, StoreUnavailableError, WorkerStateError
from reelserve.media import Clip
from reelserve.store import Status
from reelserve.worker import Lease, LeaseStatus, Worker, WorkerConfig, WorkerState
from reelserve.worker.state import TRANSITIONS, check_transition
from tests.jobs import submit
from tests.polling import wait_for
from tests.worker.driving import JOBS_TIMEOUT_SECONDS, STARTED_TIMEOUT_SECONDS

STANDARD = "kling/kling-3.0/standard/text-to-video"
ALLOWED = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}


class RecordingEngine:
    """Returns a small clip at once, noting the worker's state while it generates."""

    info = EngineInfo(family="recording", weights="none", random_weights=True, device="cpu", dtype="none")

    def __init__(self) -> None:
        self.worker: Worker | None = None
        self.seen: list[WorkerState] = []

    def generate(self, spec, on_progress=None):
        self.seen.append(self.worker.state)
        return Clip(frames=np.zeros((2, 64, 64, 3), dtype=np.uint8), fps=24, audio=None, sample_rate=None)


def worker_with(settings, store, storage, engine, load=None) -> Worker:
    config = WorkerConfig(lease_seconds=30, poll_seconds=0.01, scratch_dir=settings.data_dir / "tmp")
    worker = Worker(store, storage, load or (lambda: engine), config)
    engine.worker = worker
    return worker


def test_the_diagram_allows_exactly_these_moves() -> None:
    L, I, R, D, S = (WorkerState.LOADING, WorkerState.IDLE, WorkerState.RUNNING, WorkerState.DRAINING,
                     WorkerState.STOPPED)
    assert ALLOWED == {(L, I), (L, S), (I, R), (I, S), (R, I), (R, D), (D, S)}
    for current in WorkerState:
        for new in WorkerState:
            if (current, new) in ALLOWED:
                check_transition(current, new)
            else:
                with pytest.raises(WorkerStateError):
                    check_transition(current, new)


def test_a_refused_move_says_where_the_worker_is_and_where_it_must_be() -> None:
    with pytest.raises(WorkerStateError) as caught:
        check_transition(WorkerState.LOADING, WorkerState.RUNNING)
    assert caught.value.message == "the worker cannot become running: it is loading (must be idle)"


def test_a_job_runs_loading_idle_running_idle(settings, parts) -> None:
    store, storage, owner = parts
    engine = RecordingEngine()
    job = submit(store, owner, STANDARD, {"prompt": "a kite", "duration": 3})
    while_loading: list[tuple[WorkerState, Status]] = []

    def load() -> RecordingEngine:
        while_loading.append((worker.state, store.get(job.id).status))
        return engine

    worker = worker_with(settings, store, storage, engine, load)
    assert worker.state is WorkerState.LOADING
    worker.load()
    assert while_loading == [(WorkerState.LOADING, Status.IN_QUEUE)]  # nothing is claimed before the engine is loaded
    assert worker.state is WorkerState.IDLE
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        # RUNNING while it generates, then IDLE again (between the empty claims of its 10 ms polls).
        wait_for(lambda: store.get(job.id).status is Status.COMPLETED and worker.state is WorkerState.IDLE,
                 JOBS_TIMEOUT_SECONDS)
    finally:
        stop.set()
        worker.wake()
        thread.join(timeout=STARTED_TIMEOUT_SECONDS)
    assert engine.seen == [WorkerState.RUNNING]
    assert store.get(job.id).status is Status.COMPLETED


def test_a_stop_that_lands_before_a_claim_claims_nothing(settings, parts) -> None:
    """drain() of an idle worker stops it for good: a claim that was about to start finds it stopped."""
    store, storage, owner = parts
    worker = worker_with(settings, store, storage, RecordingEngine())
    worker.load()
    job = submit(store, owner, STANDARD, {"prompt": "a kite", "duration": 3})
    assert worker.drain(30) is True and worker.state is WorkerState.STOPPED
    thread = threading.Thread(target=worker.run, args=(threading.Event(),), daemon=True)  # not told to stop
    thread.start()
    thread.join(timeout=STARTED_TIMEOUT_SECONDS)
    assert not thread.is_alive(), "a stopped worker's loop went on"
    assert store.get(job.id).status is Status.IN_QUEUE


def test_a_worker_whose_engine_fails_to_load_stops(settings, parts) -> None:
    store, storage, _ = parts

    def broken():
        raise RuntimeError("no GPU")

    worker = Worker(store, storage, broken, WorkerConfig(lease_seconds=30, poll_seconds=0.01,
                                                        scratch_dir=settings.data_dir))
    with pytest.raises(RuntimeError, match="no GPU"):
        worker.run(threading.Event())
    assert worker.state is WorkerState.STOPPED


# --- the lease ---------------------------------------------------------------------------------


@pytest.fixture
def claimed(parts):
    store, _, owner = parts
    job = submit(store, owner, STANDARD, {"prompt": "x"})
    store.claim("w1", 30)
    return store, job.id


def test_a_held_lease_renews_and_a_taken_one_is_lost(claimed) -> None:
    store, job_id = claimed
    lease = Lease(store, job_id, "w1", 30)
    lease.renew()
    assert lease.status is LeaseStatus.HELD
    lease.check()
    stranger = Lease(store, job_id, "w2", 30)
    stranger.renew()
    assert stranger.status is LeaseStatus.LOST
    with pytest.raises(LeaseLostError):
        stranger.check()


def test_after_the_outcome_is_written_nothing_renews_or_loses_it(claimed) -> None:
    store, job_id = claimed
    lease = Lease(store, job_id, "w1", 30)
    lease.settle(lambda: store.complete(job_id, "w1", f"{job_id}/video.mp4", {}))
    lease.renew()  # the lease was released with the completion: a renewal now would find it "gone"
    assert lease.status is LeaseStatus.SETTLED
    lease.check()


def test_an_outcome_write_that_could_not_reach_the_store_keeps_the_lease_held(claimed) -> None:
    store, job_id = claimed
    lease = Lease(store, job_id, "w1", 30)

    def unreachable():
        raise StoreUnavailableError()

    with pytest.raises(StoreUnavailableError):
        lease.settle(unreachable)
    assert lease.status is LeaseStatus.HELD  # still this worker's job: renewed until the retry lands


def test_a_rejected_outcome_marks_the_lease_lost(claimed) -> None:
    store, job_id = claimed
    lease = Lease(store, job_id, "w2", 30)
    with pytest.raises(LeaseLostError):
        lease.settle(lambda: store.complete(job_id, "w2", f"{job_id}/video.mp4", {}))
    assert lease.status is LeaseStatus.LOST


def test_handing_back_requeues_and_stops_the_engine_at_its_next_step(claimed) -> None:
    store, job_id = claimed
    lease = Lease(store, job_id, "w1", 30)
    lease.hand_back()
    assert lease.status is LeaseStatus.HANDED_BACK and store.get(job_id).status is Status.IN_QUEUE
    with pytest.raises(LeaseLostError):
        lease.check()
