"""The worker: load the engine once, then claim -> generate -> store the MP4 -> complete, forever.

Every claimed job ends `completed` or `failed` unless the process itself dies: engine errors become
a failure with a code and a message a user understands, and anything unexpected becomes
`internal_error` (logged with its traceback here, never shown to the client). If the process does
die, its lease runs out and another worker's janitor puts the job back in the queue.

While a job runs, the heartbeat thread renews its lease. If a renewal finds the lease gone (this
process was frozen past it and the job went to another worker), or the worker is shutting down
and handed the job back, the next progress callback raises and the engine stops early.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reelserve.catalog import draw_seed, input_model_for, recipe_for
from reelserve.engines.base import Engine, GenerationSpec
from reelserve.errors import GenerationError, LeaseLostError, StoredInputError, StoreBusyError, UnavailableError
from reelserve.media import write_mp4
from reelserve.storage import MediaStorage, media_key
from reelserve.store import Job, JobStore
from reelserve.worker.janitor import Janitor

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0  # at most; a short lease is renewed three times per lease
STORE_RETRY_SECONDS = 1.0  # between attempts while the queue database or the media storage is unreachable
PROGRESS_INTERVAL_SECONDS = 1.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def spec_for(job: Job) -> GenerationSpec:
    """The job's stored input, validated again by its model's input schema, in the engine's terms.

    The API stored what that same schema produced, so this fails only for a job queued by another
    version of reelserve whose schema has since changed. A request without a seed gets one drawn here.
    """
    recipe = recipe_for(job.model_id)
    if recipe is None:  # the API only queues known model ids; a removed catalog entry lands here
        raise GenerationError(f"model {job.model_id!r} is no longer served by this worker")
    try:
        request = input_model_for(recipe).model_validate(job.input)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise StoredInputError(f"This request's input no longer passes the {job.model_id} schema ({problems}); "
                               "submit it again.") from exc
    return GenerationSpec.from_request(recipe, request, draw_seed() if request.seed is None else request.seed)


class ProgressReporter:
    """Writes progress at most about once a second and never lets it go backwards."""

    def __init__(self, write: Callable[[float], None], interval: float = PROGRESS_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._write = write
        self._interval = interval
        self._clock = clock
        self._last_written = float("-inf")  # monotonic() starts near 0 at boot
        self._last_value = -1.0

    def __call__(self, percent: float) -> None:
        now = self._clock()
        if percent <= self._last_value or now - self._last_written < self._interval:
            return
        self._last_value, self._last_written = percent, now
        self._write(percent)


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
    ) -> None:
        self.store = store
        self.storage = storage
        self._load_engine = load_engine
        self.engine: Engine | None = None
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = min(HEARTBEAT_SECONDS, lease_seconds / 3)
        self.poll_seconds = poll_seconds
        self.scratch_dir = Path(scratch_dir)
        self.id = worker_id or new_worker_id()
        self.janitor = janitor
        self.progress_interval = progress_interval
        self._engine_info: dict[str, Any] = {"state": "loading"}
        self._beat_lock = threading.Lock()
        # Held while renewing a lease and while writing a job's outcome: a renewal can then never
        # race the completion that releases the lease and mistake it for a lost lease.
        self._lease_lock = threading.Lock()
        self._current: Job | None = None
        self._idle = threading.Event()  # set whenever no job is claimed or running
        self._idle.set()
        self._lease_lost = threading.Event()  # set when the current job is no longer this worker's to finish
        self._exited = threading.Event()  # run() has returned: nothing left to heartbeat for
        self._wake = threading.Event()  # a job may be claimable (the store's push) or it is time to stop

    # --- lifecycle ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Load the engine, then process jobs until `stop` is set (the job in hand is finished first)."""
        heartbeat = threading.Thread(target=self._heartbeat, name="worker-heartbeat", daemon=True)
        heartbeat.start()
        unsubscribe = lambda: None  # noqa: E731
        try:
            self.engine = self._load_engine()
            self._engine_info = {"state": "ready", **self.engine.info.describe()}
            self._beat()
            log.info("worker %s ready: %s", self.id, self._engine_info)
            unsubscribe = self.store.subscribe(self._wake.set)
            while not stop.is_set():
                if self.janitor is not None:
                    self.janitor.run_due()
                self._wake.clear()  # before claiming: a notification that lands during the claim is kept
                try:
                    found = self.run_once()
                except UnavailableError as exc:
                    # A database or storage restart must not kill the worker: wait, then claim again.
                    log.warning("%s Retrying in %.0f s.", exc.message, STORE_RETRY_SECONDS)
                    stop.wait(STORE_RETRY_SECONDS)
                    continue
                if not found:
                    self._wake.wait(self.poll_seconds)
        finally:
            unsubscribe()
            # The heartbeat outlives `stop`: a job finishing in the grace period keeps its lease renewed.
            self._exited.set()
            heartbeat.join(timeout=self.heartbeat_seconds)

    def wake(self) -> None:
        """Cut an idle wait short: call after setting `stop`, or when a job may be waiting."""
        self._wake.set()

    def drain(self, grace_seconds: float) -> bool:
        """Call once `stop` is set: wait up to `grace_seconds` for the current job to finish.

        If it does not, hand it back to the queue at once (another worker takes it without waiting
        for the lease to expire) and tell the engine to stop. True if the worker went idle in time.
        """
        if self._idle.wait(grace_seconds):
            return True
        job = self._current
        try:
            if job is not None and self.store.release(job.id, self.id):
                log.warning("job %s: not finished within the %.1f s shutdown grace period; back in the queue",
                            job.id, grace_seconds)
        except StoreBusyError:
            log.warning("job %s: could not hand it back (database unavailable); it returns to the queue when its "
                        "lease expires", job.id)
        self._lease_lost.set()
        return False

    def _beat(self) -> None:
        # Read and write under one lock, so a beat that read "loading" can't land after "ready".
        with self._beat_lock:
            self.store.heartbeat_worker(self.id, self._engine_info)

    def _heartbeat(self) -> None:
        while True:
            for beat in (self._beat, self._renew_lease):
                try:
                    beat()
                except StoreBusyError:  # a missed beat is retried next time; the lease outlasts three of them
                    log.warning("worker heartbeat missed: the queue database is unavailable")
                except Exception:
                    log.exception("worker heartbeat failed")
            if self._exited.wait(self.heartbeat_seconds):
                return

    def _renew_lease(self) -> None:
        with self._lease_lock:
            job = self._current
            if job is not None and not self._lease_lost.is_set() and not self.store.renew_lease(
                    job.id, self.id, self.lease_seconds):
                log.warning("job %s: lease lost (this worker was stalled past it); stopping its generation", job.id)
                self._lease_lost.set()

    def _write_outcome(self, write: Callable[[], None], what: str) -> None:
        """Complete or fail the current job (retried like any write); once written, the heartbeat
        leaves its lease alone."""

        def once() -> None:
            with self._lease_lock:
                try:
                    write()
                except UnavailableError:
                    raise  # not written: still this worker's job, and its lease is still renewed
                except BaseException:
                    self._current = None
                    raise
                self._current = None

        self._retrying(once, what)

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

    def run_once(self) -> bool:
        """Claim and process one job; False when the queue was empty."""
        self._idle.clear()  # before claiming, so drain() never misses a job claimed as shutdown begins
        try:
            job = self.store.claim(self.id, self.lease_seconds)
            if job is None:
                return False
            self._current = job
            self._lease_lost.clear()
            self.process(job)
            return True
        finally:
            self._current = None
            self._idle.set()

    # --- one job -----------------------------------------------------------------------------

    def process(self, job: Job) -> None:
        metadata: dict[str, Any] = {"engine": self._engine_info}
        try:
            spec = spec_for(job)
            metadata["seed"] = spec.seed
            self._render(job, spec)
        except LeaseLostError:
            log.warning("job %s: no longer this worker's; its result, if any, was discarded", job.id)
        except UnavailableError:
            raise  # not the job's fault: its lease lapses and the reaper gives it another attempt
        except GenerationError as exc:
            log.info("job %s failed: %s", job.id, exc.message)
            self._fail(job, exc.code, exc.message, metadata)
        except Exception:
            log.exception("job %s: unexpected error", job.id)
            message = "An internal error stopped this request. It was not retried; submit it again."
            self._fail(job, "internal_error", message, metadata)

    def _render(self, job: Job, spec: GenerationSpec) -> None:
        assert self.engine is not None, "run() loads the engine before processing"
        report = ProgressReporter(lambda p: self._write_progress(job, p), self.progress_interval)

        def on_progress(percent: float) -> None:
            self._still_mine()
            report(percent)

        started = time.perf_counter()
        clip = self.engine.generate(spec, on_progress=on_progress)
        self._still_mine()
        self.scratch_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.scratch_dir) as scratch:
            encode_started = time.perf_counter()
            path = write_mp4(clip, Path(scratch) / "video.mp4")
            store_started = time.perf_counter()
            key = media_key(job.id, attempt=f"{job.attempts}-{secrets.token_hex(4)}")
            self._retrying(lambda: self.storage.put(key, path), "the upload")
            stored = time.perf_counter()
        metadata = {
            "width": clip.width,
            "height": clip.height,
            "fps": clip.fps,
            "duration_seconds": clip.duration_seconds,
            "has_audio": clip.audio is not None,
            "seed": spec.seed,
            "engine": self._engine_info,
            "shots": _shots_metadata(spec),
            "timings": {
                **{k: round(v, 4) for k, v in clip.timings.items()},
                "encode_seconds": round(store_started - encode_started, 4),
                "store_seconds": round(stored - store_started, 4),
                "total_seconds": round(stored - started, 4),
            },
        }
        # Fenced on the lease: if another worker took this job over, this raises and nothing is published.
        try:
            self._write_outcome(lambda: self.store.complete(job.id, self.id, key, metadata), "the completion")
            log.info("job %s completed in %.1f s (attempt %d)", job.id, stored - started, job.attempts)
        except LeaseLostError:
            self._discard_upload(job.id, key)
            raise

    def _write_progress(self, job: Job, percent: float) -> None:
        try:
            self.store.set_progress(job.id, self.id, percent)
        except StoreBusyError:  # progress is best-effort; a lost lease still raises LeaseLostError
            log.warning("job %s: progress not recorded (database unavailable)", job.id)

    def _discard_upload(self, job_id: str, key: str) -> None:
        """Delete this attempt's upload, unless the row names it: a completion whose reply was lost
        to a dropped connection did commit, and its retry is what got rejected."""
        try:
            published = self.store.get(job_id)
        except StoreBusyError:
            return  # unsure, so keep it: the retention purge deletes everything under the request
        if published is None or published.output_key != key:
            self.storage.delete(key)  # never referenced; the winner's upload is under its own key

    def _still_mine(self) -> None:
        """Raise from inside the engine's step callback once the job is no longer this worker's to finish."""
        if self._lease_lost.is_set():
            raise LeaseLostError()

    def _fail(self, job: Job, code: str, message: str, metadata: dict[str, Any]) -> None:
        try:
            self._write_outcome(lambda: self.store.fail(job.id, self.id, code, message, metadata), "the failure")
        except LeaseLostError:
            log.warning("job %s: lease lost before its failure could be recorded", job.id)


def _shots_metadata(spec: GenerationSpec) -> list[dict[str, Any]]:
    fps, start, shots = spec.recipe.fps, 0, []
    for shot in spec.shot_plans:
        shots.append({"prompt": shot.text, "start_seconds": round(start / fps, 4),
                      "duration_seconds": round(shot.seconds(fps), 4)})
        start += shot.frames
    return shots
