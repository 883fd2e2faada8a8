"""The worker: load the engine once, then claim -> generate -> publish -> complete, until stopped.

Generating and publishing always overlap: the loop thread claims a job and generates its clip, hands
it to the publisher thread (encode, upload, the fenced completion: worker/publisher.py) through a
one-clip slot (worker/handoff.py), and claims the next job while that one is published. The GPU does
not wait for the CPU's encoding, and at most one finished clip waits. A job on a second or later
attempt generates alone, once the publisher is done: it may be what killed its last worker.

Each claimed job is a `Task` (worker/task.py) that owns its lease, its spec and its outcome. If the
process dies, the leases run out and another worker's janitor puts the jobs back in the queue.

Three threads share a worker: the loop (`run`), the publisher and the heartbeat (worker/heartbeat.py).
Their shared facts are the state (worker/state.py), the tasks in hand (one generating, one waiting in
the slot, one publishing) and the slot, all read and changed under `_changed`; the heartbeat renews
every lease in hand, and a lease found lost or handed back stops the engine at its next step and the
publisher before its completion.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from reelserve import metrics
from reelserve.engines.base import Engine
from reelserve.errors import UnavailableError
from reelserve.media import choose_encoder
from reelserve.storage import MediaStorage
from reelserve.store import JobStore
from reelserve.worker.config import WorkerConfig
from reelserve.worker.handoff import Handoff
from reelserve.worker.heartbeat import Heartbeat
from reelserve.worker.janitor import Janitor
from reelserve.worker.lease import Lease
from reelserve.worker.publisher import Publisher
from reelserve.worker.state import WorkerState, check_transition
from reelserve.worker.task import Task

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, store: JobStore, storage: MediaStorage, load_engine: Callable[[], Engine],
                 config: WorkerConfig, *, janitor: Janitor | None = None) -> None:
        self.store = store
        self.storage = storage
        self.config = config
        self.janitor = janitor
        self._load_engine = load_engine
        self.engine: Engine | None = None
        self.engine_info: dict[str, Any] = {"state": "loading"}  # what heartbeats and metadata report
        self._publisher: Publisher | None = None  # its encoder is chosen for the engine's device at load
        self._changed = threading.Condition()  # guards the state, the tasks and the slot; notified on each change
        self._state = WorkerState.LOADING
        metrics.WORKER_STATE.labels(self._state.value).inc()
        self._claiming = False
        self._tasks: dict[str, Task] = {}  # every job in hand: generating, waiting in the slot, or publishing
        self._handoff: Handoff[Task] = Handoff(self._changed)
        self._paused_until = 0.0  # monotonic time before which nothing is claimed (_back_off)
        self._wake = threading.Event()  # a job may be claimable (the store's push), or it is time to stop
        self._heartbeat = Heartbeat(store, config.worker_id, lambda: self.engine_info, self._leases)

    @property
    def id(self) -> str:
        return self.config.worker_id

    # --- state ---------------------------------------------------------------------------------

    @property
    def state(self) -> WorkerState:
        return self._state

    def _enter(self, state: WorkerState) -> None:
        """Move to `state`; the caller holds `_changed`. A move the state diagram lacks is a bug: it raises."""
        check_transition(self._state, state)
        metrics.WORKER_STATE.labels(self._state.value).dec()
        metrics.WORKER_STATE.labels(state.value).inc()
        self._state = state
        self._changed.notify_all()

    def _follow_work(self) -> None:
        """RUNNING while a claim is under way or any job is in hand, on either side; then IDLE, or STOPPED
        when a drain was waiting for it. The caller holds `_changed`."""
        busy = self._claiming or bool(self._tasks)
        if busy and self._state is WorkerState.IDLE:
            self._enter(WorkerState.RUNNING)
        elif not busy and self._state is WorkerState.RUNNING:
            self._enter(WorkerState.IDLE)
        elif not busy and self._state is WorkerState.DRAINING:
            self._enter(WorkerState.STOPPED)

    def _wait_stopped(self) -> bool:
        """Wait up to one heartbeat interval for STOPPED; whether the worker has stopped."""
        with self._changed:
            return self._changed.wait_for(lambda: self._state is WorkerState.STOPPED, self.config.heartbeat_seconds)

    # --- lifecycle ---------------------------------------------------------------------------

    def load(self) -> None:
        """Load the engine (LOADING -> IDLE) and say so in the worker's heartbeat row."""
        # Seconds to minutes with nothing else to show: the engine logs its family, weights and device
        # as it starts, and the "ready" line below says what loaded.
        log.info("worker %s: loading the engine; it claims no request until it is ready", self.id)
        engine = self._load_engine()
        encoder = choose_encoder(engine.info.device)
        with self._changed:
            self.engine, self._publisher = engine, Publisher(self.storage, encoder, self.config)
            self.engine_info = {"state": "ready", **engine.info.describe(), "encoder": encoder.describe()}
            self._enter(WorkerState.IDLE)
        self._heartbeat.beat()
        log.info("worker %s ready: %s", self.id, self.engine_info)

    def run(self, stop: threading.Event) -> None:
        """Load the engine unless `load()` already did, then process jobs until `stop` is set (the jobs in
        hand are finished first, both the one generating and the one publishing)."""
        heartbeat = threading.Thread(target=self._heartbeat.run, args=(self._wait_stopped,), name="worker-heartbeat",
                                     daemon=True)
        heartbeat.start()
        publisher = threading.Thread(target=self._publish_loop, name="worker-publisher", daemon=True)
        housekeeping = (threading.Thread(target=self.janitor.run, args=(stop,), name="worker-housekeeping",
                                         daemon=True) if self.janitor is not None else None)
        unsubscribe: Callable[[], None] = lambda: None  # noqa: E731
        try:
            if self._state is WorkerState.LOADING:
                self.load()
            publisher.start()
            if housekeeping is not None:
                housekeeping.start()
            unsubscribe = self.store.subscribe(self._wake.set)
            while not stop.is_set() and self._state is not WorkerState.STOPPED:
                self._claim_next(stop)
        finally:
            unsubscribe()
            self._handoff.close()
            if publisher.is_alive():
                publisher.join()  # drain() bounds this: past the grace period the leases are handed back
            with self._changed:
                if self._state is not WorkerState.STOPPED:
                    self._enter(WorkerState.STOPPED)
            # The heartbeat outlives `stop`: a job finishing in the grace period keeps its lease renewed.
            heartbeat.join(timeout=self.config.heartbeat_seconds)

    def _claim_next(self, stop: threading.Event) -> None:
        """One turn of the loop: a job, or a wait for one (housekeeping has a thread of its own)."""
        # Claim only once the publisher has taken the last clip: at most one finished clip waits.
        self._handoff.wait_empty(until=stop.is_set)
        if (pause := self._paused_until - time.monotonic()) > 0:
            stop.wait(pause)
        if stop.is_set():
            return
        self._wake.clear()  # before claiming: a notification that lands during the claim is kept
        try:
            found = self._generate_next()
        except UnavailableError as exc:
            # A database or storage restart must not kill the worker: wait, then claim again.
            log.warning("%s Retrying in %.0f s.", exc.message, self.config.store_retry_seconds)
            stop.wait(self.config.store_retry_seconds)
            return
        if not found:
            self._wake.wait(self.config.poll_seconds)

    def wake(self) -> None:
        """Cut an idle wait short: call after setting `stop`, or when a job may be waiting."""
        self._wake.set()
        with self._changed:
            self._changed.notify_all()  # and a wait for the slot to empty

    def jobs_in_hand(self) -> list[str]:
        """The ids of the jobs this worker holds now: generating, waiting to be published, or publishing."""
        with self._changed:
            return list(self._tasks)

    def drain(self, grace_seconds: float, hurry: threading.Event | None = None) -> bool:
        """Call once `stop` is set: claim nothing more, and give the jobs in hand `grace_seconds` to finish.

        If they do not, or `hurry` is set first (a second Ctrl-C), hand them back to the queue at once
        (another worker, or this one after a restart, takes them without waiting for the lease to
        expire): the engine stops at its next step, the publisher before its completion. True if no
        job was left.
        """
        deadline = time.monotonic() + grace_seconds
        with self._changed:
            if self._state is WorkerState.IDLE:
                self._enter(WorkerState.STOPPED)
            elif self._state is WorkerState.RUNNING:
                self._enter(WorkerState.DRAINING)
            while not self._changed.wait_for(lambda: self._state is not WorkerState.DRAINING,
                                             max(0.0, min(0.1, deadline - time.monotonic()))):
                if time.monotonic() >= deadline or (hurry is not None and hurry.is_set()):
                    break
            else:
                return True
            leases = [task.lease for task in self._tasks.values()]
        on_request = hurry is not None and hurry.is_set()
        for lease in leases:
            lease.hand_back(on_request=on_request)
        return False

    # --- claiming, and the two sides ----------------------------------------------------------------

    def _leases(self) -> list[Lease]:
        with self._changed:
            return [task.lease for task in self._tasks.values()]

    def _claim(self) -> Task | None:
        """Claim a job and take it in hand; None when the queue is empty or the worker is stopping."""
        with self._changed:
            if self._state is WorkerState.LOADING:
                check_transition(self._state, WorkerState.RUNNING)  # raises: load() comes before any claim
            if self._state in (WorkerState.STOPPED, WorkerState.DRAINING):
                return None
            self._claiming = True  # RUNNING from here: drain() waits for whatever the claim returns
            self._follow_work()
        try:
            job = self.store.claim(self.id, self.config.lease_seconds)
            if job is None:
                return None
            lease = Lease(self.store, job.id, self.id, self.config.lease_seconds)
            task = Task(job, lease, self.store, self.storage, self.config, self.engine_info)
            with self._changed:
                self._tasks[job.id] = task
            return task
        finally:
            with self._changed:
                self._claiming = False
                self._follow_work()

    def _let_go(self, task: Task) -> None:
        """The job is done with, one way or another: stop renewing its lease."""
        with self._changed:
            self._tasks.pop(task.job.id, None)
            self._follow_work()
            self._changed.notify_all()  # a retried job may be waiting for this one (_generate_next)

    def _generate_next(self) -> bool:
        """Claim one job and generate it, then leave it in the slot for the publisher; False when the
        queue was empty or the worker is stopping."""
        task = self._claim()
        if task is None:
            return False
        handed_over = False
        try:
            assert self.engine is not None, "load() comes before any claim"
            if task.job.attempts > 1:
                # It may be what killed its last worker (a segfault, the OOM killer): it generates once
                # the publisher is done, so that if it kills this process too, it takes no other job along.
                with self._changed:
                    self._changed.wait_for(lambda: list(self._tasks) == [task.job.id])
            if task.generate(self.engine):
                self._handoff.put(task)
                handed_over = True
        except UnavailableError as exc:  # the storage holding its images is away: not the job's fault
            self._back_off(task, exc)
        finally:
            if not handed_over:
                self._let_go(task)
        return True

    def _publish_loop(self) -> None:
        """The publisher thread: publish each job the loop hands over, until the slot is closed and empty."""
        assert self._publisher is not None, "load() comes before the publisher starts"
        while (task := self._handoff.take()) is not None:
            try:
                task.publish(self._publisher)
            except UnavailableError as exc:  # not the job's fault
                self._back_off(task, exc)
            except Exception:  # the task decides every outcome; this is a bug, and the thread must survive it
                log.exception("job %s: the publisher failed", task.job.id)
            finally:
                self._let_go(task)

    def _back_off(self, task: Task, exc: UnavailableError) -> None:
        """Give the job back to the queue now, its attempt uncounted, and claim nothing for a while: a full
        disk or an unreachable storage would fail the next job the same way. If the database cannot take
        the hand-back either, the lease runs out and the reaper re-queues the job."""
        pause = self.config.pause_after_fault_seconds
        log.warning("%s Job %s goes back to the queue; claiming resumes in %.0f s.", exc.message, task.job.id, pause)
        self._paused_until = time.monotonic() + pause
        with contextlib.suppress(UnavailableError):
            self.store.release(task.job.id, self.id)
