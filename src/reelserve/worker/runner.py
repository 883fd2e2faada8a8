"""The worker: load the engine once, then claim -> generate -> publish -> complete, until stopped.

Generating and publishing overlap: the loop thread claims a job and generates its clip, hands the
clip to the publisher thread (encode, upload, the fenced completion) through a one-clip slot
(worker/handoff.py), and claims the next job while that one is published. The GPU does not wait
for the CPU's encoding, and at most one finished clip waits.

Every claimed job ends `completed` or `failed` unless the process itself dies: engine errors become
a failure with a code and a message a user understands, and anything unexpected becomes
`internal_error` (logged with its traceback here, never shown to the client). If the process does
die, its lease runs out and another worker's janitor puts the job back in the queue.

Three threads share a worker: the loop (`run`), the publisher and the heartbeat. Their shared facts
are the state (worker/state.py), the leases in hand (worker/lease.py: one per job being generated,
waiting or published) and the slot, all read and changed under `_changed`; the heartbeat renews
every lease in hand, and a lease found lost or handed back stops the engine at its next step and
the publisher before its completion.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple


from reelserve import metrics
from reelserve.engines.base import Engine, GenerationSpec
from reelserve.engines.runtime import cuda_memory
from reelserve.errors import (
    FailureCode,
    GenerationError,
    LeaseLostError,
    StoreBusyError,
    UnavailableError,
    disk_faults,
)
from reelserve.media import Clip, VideoEncoder, choose_encoder, write_mp4, write_poster
from reelserve.storage import MediaStorage, media_key
from reelserve.store import Job, JobStore
from reelserve.worker.handoff import Handoff
from reelserve.worker.janitor import Janitor
from reelserve.worker.lease import Lease
from reelserve.worker.progress import PROGRESS_INTERVAL_SECONDS, ProgressReporter
from reelserve.worker.state import WorkerState, check_transition

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0  # at most; a short lease is renewed three times per lease
STORE_RETRY_SECONDS = 1.0  # between attempts while the queue database or the media storage is unreachable
PAUSE_AFTER_FAULT_SECONDS = 5.0  # no claims after a publish met a full disk: the next job would meet it too
INTERNAL_ERROR_MESSAGE = "An internal error stopped this request. It was not retried; submit it again."


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Published(NamedTuple):
    """Where one attempt's files were stored: under keys of its own, so no attempt overwrites another's."""

    video_key: str
    poster_key: str


@dataclass
class Rendered:
    """A generated clip on its way to publishing, with what its result's metadata needs."""

    job: Job
    lease: Lease
    spec: GenerationSpec
    clip: Clip
    started: float  # time.perf_counter() when generation began
    rendered: float  # and when it ended


class Worker:
    def __init__(
        self,
        store: JobStore,
        storage: MediaStorage,
        load_engine: Callable[[], Engine],
        *,
        lease_seconds: float,
        poll_seconds: float,
        scratch_dir: Path,
        worker_id: str | None = None,
        janitor: Janitor | None = None,
        progress_interval: float = PROGRESS_INTERVAL_SECONDS,
        overlap: bool = True,
    ) -> None:
        self.store = store
        self.storage = storage
        self._load_engine = load_engine
        self.engine: Engine | None = None
        self.engine_info: dict[str, Any] = {"state": "loading"}  # what heartbeats and metadata report
        self.encoder: VideoEncoder | None = None  # chosen for the engine's device at load
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = min(HEARTBEAT_SECONDS, lease_seconds / 3)
        self.poll_seconds = poll_seconds
        self.scratch_dir = Path(scratch_dir)
        self.id = worker_id or new_worker_id()
        self.janitor = janitor
        self.progress_interval = progress_interval
        self.overlap = overlap  # False: publish each clip before claiming the next (bench/throughput.py compares)
        self._changed = threading.Condition()  # guards the state, the leases and the slot; notified on each change
        self._state = WorkerState.LOADING
        metrics.WORKER_STATE.labels(self._state.value).inc()
        self._claiming = False
        self._leases: dict[str, Lease] = {}  # every job in hand: generating, waiting in the slot, or publishing
        self._handoff: Handoff[Rendered] = Handoff(self._changed)
        self._paused_until = 0.0  # monotonic time before which nothing is claimed (_back_off)
        self._wake = threading.Event()  # a job may be claimable (the store's push), or it is time to stop
        self._beat_lock = threading.Lock()  # a beat that read "loading" must not land after one saying "ready"

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
        busy = self._claiming or bool(self._leases)
        if busy and self._state is WorkerState.IDLE:
            self._enter(WorkerState.RUNNING)
        elif not busy and self._state is WorkerState.RUNNING:
            self._enter(WorkerState.IDLE)
        elif not busy and self._state is WorkerState.DRAINING:
            self._enter(WorkerState.STOPPED)

    # --- lifecycle ---------------------------------------------------------------------------

    def load(self) -> None:
        """Load the engine (LOADING -> IDLE) and say so in the worker's heartbeat row."""
        # Seconds to minutes with nothing else to show: the engine logs its family, weights and device
        # as it starts, and the "ready" line below says what loaded.
        log.info("worker %s: loading the engine; it claims no request until it is ready", self.id)
        engine = self._load_engine()
        encoder = choose_encoder(engine.info.device)
        with self._changed:
            self.engine, self.encoder = engine, encoder
            self.engine_info = {"state": "ready", **engine.info.describe(), "encoder": encoder.describe()}
            self._enter(WorkerState.IDLE)
        self._beat()
        log.info("worker %s ready: %s", self.id, self.engine_info)

    def run(self, stop: threading.Event) -> None:
        """Load the engine unless `load()` already did, then process jobs until `stop` is set (the jobs in
        hand are finished first, both the one generating and the one publishing)."""
        heartbeat = threading.Thread(target=self._heartbeat, name="worker-heartbeat", daemon=True)
        heartbeat.start()
        publisher = threading.Thread(target=self._publish_loop, name="worker-publisher", daemon=True)
        housekeeping = (threading.Thread(target=self.janitor.run, args=(stop,), name="worker-housekeeping",
                                         daemon=True) if self.janitor is not None else None)
        unsubscribe: Callable[[], None] = lambda: None  # noqa: E731
        try:
            if self._state is WorkerState.LOADING:
                self.load()
            if self.overlap:
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
            heartbeat.join(timeout=self.heartbeat_seconds)

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
            found = self._generate_next() if self.overlap else self.run_once()
        except UnavailableError as exc:
            # A database or storage restart must not kill the worker: wait, then claim again.
            log.warning("%s Retrying in %.0f s.", exc.message, STORE_RETRY_SECONDS)
            stop.wait(STORE_RETRY_SECONDS)
            return
        if not found:
            self._wake.wait(self.poll_seconds)

    def wake(self) -> None:
        """Cut an idle wait short: call after setting `stop`, or when a job may be waiting."""
        self._wake.set()
        with self._changed:
            self._changed.notify_all()  # and a wait for the slot to empty

    def jobs_in_hand(self) -> list[str]:
        """The ids of the jobs this worker holds now: generating, waiting to be published, or publishing."""
        with self._changed:
            return list(self._leases)

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
            leases = list(self._leases.values())
        on_request = hurry is not None and hurry.is_set()
        for lease in leases:
            lease.hand_back(on_request=on_request)
        return False

    # --- the heartbeat thread ------------------------------------------------------------------

    def _heartbeat(self) -> None:
        while True:
            for beat in (self._beat, self._renew_leases):
                try:
                    beat()
                except StoreBusyError:  # a missed beat is retried next time; the lease outlasts three of them
                    log.warning("worker heartbeat missed: the queue database is unavailable")
                except Exception:
                    log.exception("worker heartbeat failed")
            with self._changed:
                if self._changed.wait_for(lambda: self._state is WorkerState.STOPPED, self.heartbeat_seconds):
                    return

    def _beat(self) -> None:
        with self._beat_lock:
            self.store.heartbeat_worker(self.id, self.engine_info)
        device = str(self.engine_info.get("device", ""))
        for kind, used in cuda_memory(device).items():
            metrics.GPU_MEMORY.labels(device, kind).set(used)

    def _renew_leases(self) -> None:
        with self._changed:
            leases = list(self._leases.values())
        for lease in leases:
            lease.renew()

    # --- claiming ----------------------------------------------------------------------------------

    def _claim(self) -> tuple[Job, Lease] | None:
        """Claim a job and take its lease in hand; None when the queue is empty or the worker is stopping."""
        with self._changed:
            if self._state is WorkerState.LOADING:
                check_transition(self._state, WorkerState.RUNNING)  # raises: load() comes before any claim
            if self._state in (WorkerState.STOPPED, WorkerState.DRAINING):
                return None
            self._claiming = True  # RUNNING from here: drain() waits for whatever the claim returns
            self._follow_work()
        try:
            job = self.store.claim(self.id, self.lease_seconds)
            if job is None:
                return None
            lease = Lease(self.store, job.id, self.id, self.lease_seconds)
            with self._changed:
                self._leases[job.id] = lease
            return job, lease
        finally:
            with self._changed:
                self._claiming = False
                self._follow_work()

    def _let_go(self, lease: Lease) -> None:
        """The job is done with, one way or another: stop renewing its lease."""
        with self._changed:
            self._leases.pop(lease.job_id, None)
            self._follow_work()

    # --- one job ---------------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim one job and process it to the end in this thread; False when the queue was empty or the
        worker is stopping."""
        claimed = self._claim()
        if claimed is None:
            return False
        try:
            self.process(*claimed)
        finally:
            self._let_go(claimed[1])
        return True

    def _generate_next(self) -> bool:
        """Claim one job and generate it, then leave the clip in the slot for the publisher."""
        claimed = self._claim()
        if claimed is None:
            return False
        job, lease = claimed
        handed_over = False
        try:
            rendered = self._render(job, lease)
            if rendered is not None:
                self._handoff.put(rendered)
                handed_over = True
        finally:
            if not handed_over:
                self._let_go(lease)
        return True

    def _publish_loop(self) -> None:
        """The publisher thread: publish each clip the loop hands over, until the slot is closed and empty."""
        while (rendered := self._handoff.take()) is not None:
            try:
                self._deliver(rendered)
            except UnavailableError as exc:  # not the job's fault
                self._back_off(rendered.job, exc)
            except Exception:  # _deliver decides every outcome; this is a bug, and the thread must survive it
                log.exception("job %s: the publisher failed", rendered.job.id)
            finally:
                self._let_go(rendered.lease)

    def _back_off(self, job: Job, exc: UnavailableError) -> None:
        """Give the job back to the queue now, its attempt uncounted, and claim nothing for a while: a full
        disk or an unreachable storage would fail the next job the same way. If the database cannot take
        the hand-back either, the lease runs out and the reaper re-queues the job."""
        log.warning("%s Job %s goes back to the queue; claiming resumes in %.0f s.", exc.message, job.id,
                    PAUSE_AFTER_FAULT_SECONDS)
        self._paused_until = time.monotonic() + PAUSE_AFTER_FAULT_SECONDS
        with contextlib.suppress(UnavailableError):
            self.store.release(job.id, self.id)

    def process(self, job: Job, lease: Lease) -> None:
        """generate -> publish -> complete in this thread; every way it can end is decided here."""
        rendered = self._render(job, lease)
        if rendered is not None:
            self._deliver(rendered)

    def _render(self, job: Job, lease: Lease) -> Rendered | None:
        """Generate the job's clip; None when the job ended here (failed, or no longer this worker's)."""
        log.info("job %s started: model %s, attempt %d, worker %s", job.id, job.model_id, job.attempts, self.id)
        if job.started_at is not None:
            metrics.QUEUE_WAIT.labels(job.model_id).observe((job.started_at - job.created_at).total_seconds())
        metadata: dict[str, Any] = {"engine": self.engine_info}
        with self._deciding_outcome(job, lease, metadata):
            spec = GenerationSpec.from_stored(job.model_id, job.input)
            metadata["seed"] = spec.seed
            started = time.perf_counter()
            clip = self._generate(job, spec, lease)
            return Rendered(job, lease, spec, clip, started, time.perf_counter())
        return None

    def _deliver(self, rendered: Rendered) -> None:
        """Publish a rendered clip and complete its job; every way that can end is decided here."""
        job, lease, spec = rendered.job, rendered.lease, rendered.spec
        with self._deciding_outcome(job, lease, {"seed": spec.seed, "engine": self.engine_info}):
            lease.check()  # handed back or lost while it waited: not this worker's to publish
            waited = time.perf_counter() - rendered.rendered
            published, timings = self._publish(job, rendered.clip)
            timings["publish_wait_seconds"] = round(waited, 4)
            timings["total_seconds"] = round(time.perf_counter() - rendered.started, 4)
            self._complete(job, lease, published, _result_metadata(spec, rendered.clip, self.engine_info, timings))

    @contextlib.contextmanager
    def _deciding_outcome(self, job: Job, lease: Lease, metadata: dict[str, Any]) -> Iterator[None]:
        """How a failure inside ends the job: a user-facing failure, `internal_error`, or nothing when the
        job is no longer this worker's. A store or storage outage is not the job's fault: it propagates,
        the lease lapses and the reaper gives the job another attempt."""
        try:
            yield
        except LeaseLostError:
            log.warning("job %s: no longer this worker's; its result, if any, was discarded", job.id)
        except UnavailableError:
            raise
        except GenerationError as exc:
            log.info("job %s failed: %s", job.id, exc.message)
            self._fail(job, lease, exc.code, exc.message, metadata)
        except Exception:
            log.exception("job %s: unexpected error", job.id)
            self._fail(job, lease, FailureCode.INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE, metadata)

    def _generate(self, job: Job, spec: GenerationSpec, lease: Lease) -> Clip:
        """Run the engine, writing its progress; a lost or handed-back lease stops it at the next step."""
        assert self.engine is not None, "load() comes before any job"
        report = ProgressReporter(lambda percent: self._write_progress(job, percent), self.progress_interval)

        def on_progress(percent: float) -> None:
            lease.check()
            report(percent)

        clip = self.engine.generate(spec, on_progress=on_progress)
        lease.check()
        return clip

    def _publish(self, job: Job, clip: Clip) -> tuple[Published, dict[str, float]]:
        """Encode the MP4 and its poster and upload both under this attempt's own keys; with the
        encode and store seconds. A full or read-only scratch disk is a DiskFullError, not the job's fault."""
        attempt = f"{job.attempts}-{secrets.token_hex(4)}"
        published = Published(media_key(job.id, attempt), media_key(job.id, attempt, "poster.jpg"))
        with disk_faults():
            self.scratch_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            with tempfile.TemporaryDirectory(dir=self.scratch_dir) as scratch:
                began = time.perf_counter()
                assert self.encoder is not None, "load() comes before any job"
                video = write_mp4(clip, Path(scratch) / "video.mp4", encoder=self.encoder)
                poster = write_poster(clip, Path(scratch) / "poster.jpg")
                encoded = time.perf_counter()
                # The poster first: once the video is stored, the completion may point at both.
                self._retrying(lambda: self.storage.put(published.poster_key, poster), "the poster upload")
                self._retrying(lambda: self.storage.put(published.video_key, video), "the upload")
                stored = time.perf_counter()
        return published, {"encode_seconds": round(encoded - began, 4), "store_seconds": round(stored - encoded, 4)}

    def _complete(self, job: Job, lease: Lease, published: Published, metadata: dict[str, Any]) -> None:
        """Publish: the fenced completion. If another worker took the job over, it raises and this upload goes."""
        def complete() -> None:
            self.store.complete(job.id, self.id, published.video_key, metadata, poster_key=published.poster_key)

        try:
            self._write_outcome(lease, complete, "the completion")
        except LeaseLostError:
            self._discard_upload(job.id, published)
            raise
        log.info("job %s completed in %.1f s (attempt %d)", job.id, metadata["timings"]["total_seconds"], job.attempts)
        metrics.OUTCOMES.labels(job.model_id, "completed", "").inc()
        for name, seconds in metadata["timings"].items():
            metrics.STAGE_SECONDS.labels(job.model_id, name.removesuffix("_seconds")).observe(seconds)

    def _fail(self, job: Job, lease: Lease, code: str, message: str, metadata: dict[str, Any]) -> None:
        try:
            self._write_outcome(lease, lambda: self.store.fail(job.id, self.id, code, message, metadata), "the failure")
        except LeaseLostError:
            log.warning("job %s: lease lost before its failure could be recorded", job.id)
            return
        metrics.OUTCOMES.labels(job.model_id, "failed", code).inc()

    def _write_outcome(self, lease: Lease, write: Callable[[], None], what: str) -> None:
        """The fenced complete or fail, under the lease's lock, retried while the store is unreachable."""
        self._retrying(lambda: lease.settle(write), what)

    def _write_progress(self, job: Job, percent: float) -> None:
        try:
            self.store.set_progress(job.id, self.id, percent)
        except StoreBusyError:  # progress is best-effort; a lost lease still raises LeaseLostError
            log.warning("job %s: progress not recorded (database unavailable)", job.id)

    def _discard_upload(self, job_id: str, published: Published) -> None:
        """Delete this attempt's uploads, unless the row names them: a completion whose reply was lost
        to a dropped connection did commit, and its retry is what got rejected."""
        try:
            row = self.store.get(job_id)
        except StoreBusyError:
            return  # unsure, so keep it: the retention purge deletes everything under the request
        if row is None or row.output_key != published.video_key:
            for key in published:  # never referenced; the winner's uploads are under their own keys
                self.storage.delete(key)

    def _retrying(self, action: Callable[[], None], what: str) -> None:
        """Run `action`, retrying while the database or storage is unavailable, for up to one lease
        period; after that the lease has lapsed anyway and the reaper gives the job another attempt."""
        deadline = time.monotonic() + self.lease_seconds
        while True:
            try:
                return action()
            except UnavailableError as exc:
                if time.monotonic() + STORE_RETRY_SECONDS > deadline:
                    raise
                log.warning("%s Retrying %s in %.0f s.", exc.message, what, STORE_RETRY_SECONDS)
            time.sleep(STORE_RETRY_SECONDS)


def _result_metadata(spec: GenerationSpec, clip: Clip, engine_info: dict[str, Any],
                     publish_timings: dict[str, float]) -> dict[str, Any]:
    """What `metadata` in the result says was produced (docs/http-api.md)."""
    return {
        "width": clip.width,
        "height": clip.height,
        "fps": clip.fps,
        "duration_seconds": clip.duration_seconds,
        "has_audio": clip.audio is not None,
        "seed": spec.seed,
        "engine": engine_info,
        "shots": _shots_metadata(spec, clip.enhanced_prompts),
        "timings": {**{name: round(value, 4) for name, value in clip.timings.items()}, **publish_timings},
    }


def _shots_metadata(spec: GenerationSpec, enhanced: tuple[str | None, ...]) -> list[dict[str, Any]]:
    fps, start, shots = spec.recipe.fps, 0, []
    for index, shot in enumerate(spec.shot_plans):
        shots.append({"prompt": shot.text, "start_seconds": round(start / fps, 4),
                      "duration_seconds": round(shot.seconds(fps), 4),
                      "enhanced_prompt": enhanced[index] if index < len(enhanced) else None})
        start += shot.frames
    return shots
