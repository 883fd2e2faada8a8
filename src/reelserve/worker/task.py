"""One claimed job, from its claim to its outcome (in the spirit of cog's PredictTask).

A `Task` owns what one job needs on its way through the worker: its lease, its spec once read from
the stored input, its clip once generated, the metadata its outcome records, and the decision of
how it ends. Every claimed job ends `completed` or `failed` unless the process itself dies: engine
errors become a failure with a code and a message a user understands, and anything unexpected becomes
`internal_error` (logged with its traceback here, never shown to the client). A store or storage
outage is not the job's fault: it propagates, and the worker hands the job back or lets its lease lapse.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from PIL.Image import Image

from reelserve import metrics
from reelserve.engines.base import Engine, GenerationSpec
from reelserve.errors import FailureCode, GenerationError, LeaseLostError, StoreBusyError, UnavailableError
from reelserve.media import Clip
from reelserve.storage import MediaStorage
from reelserve.store import Job, JobStore
from reelserve.worker.config import WorkerConfig
from reelserve.worker.images import StoredImages
from reelserve.worker.lease import Lease
from reelserve.worker.progress import ProgressReporter
from reelserve.worker.publisher import Published, Publisher
from reelserve.worker.retry import retrying

log = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "An internal error stopped this request. It was not retried; submit it again."


class Task:
    def __init__(self, job: Job, lease: Lease, store: JobStore, storage: MediaStorage, config: WorkerConfig,
                 engine_info: dict[str, Any]) -> None:
        self.job = job
        self.lease = lease
        self._store = store
        self._storage = storage  # where an image-to-video request's images were stored at submit
        self._config = config
        self.spec: GenerationSpec | None = None  # read from the stored input when generation begins
        self.clip: Clip | None = None
        # What any outcome records, completed or failed; the seed joins once the spec is read.
        self.metadata: dict[str, Any] = {"engine": engine_info}
        self._began = 0.0  # time.perf_counter() when generation began
        self._rendered = 0.0  # and when it ended

    # --- the two sides of the worker -----------------------------------------------------------

    def generate(self, engine: Engine) -> bool:
        """Read the spec and generate the clip; False when the job ended here (failed, or no longer
        this worker's), True when its clip waits to be published."""
        job = self.job
        log.info("job %s started: model %s, attempt %d, worker %s", job.id, job.model_id, job.attempts,
                 self.lease.worker_id)
        if job.started_at is not None:
            metrics.QUEUE_WAIT.labels(job.model_id).observe((job.started_at - job.created_at).total_seconds())
        with self._deciding_outcome():
            self.spec = GenerationSpec.from_stored(job.model_id, job.input, StoredImages(self._storage, job.id).open)
            self.metadata["seed"] = self.spec.seed
            self._began = time.perf_counter()
            self.clip = self._run_engine(engine, self.spec)
            self._rendered = time.perf_counter()
            return True
        return False

    def publish(self, publisher: Publisher) -> None:
        """Publish the clip and complete the job; every way that can end is decided here."""
        assert self.clip is not None, "generate() comes before publish()"
        with self._deciding_outcome():
            self.lease.check()  # handed back or lost while it waited: not this worker's to publish
            waited = time.perf_counter() - self._rendered
            published, timings = publisher.publish(self.job.id, self.job.attempts, self.clip)
            timings["publish_wait_seconds"] = round(waited, 4)
            timings["total_seconds"] = round(time.perf_counter() - self._began, 4)
            self._complete(publisher, published, self._result_metadata(timings))

    # --- generating --------------------------------------------------------------------------------

    def _run_engine(self, engine: Engine, spec: GenerationSpec) -> Clip:
        """Run the engine, writing its progress; a lost or handed-back lease stops it at the next step."""
        report = ProgressReporter(self._write_progress, self._config.progress_interval)

        def on_progress(percent: float) -> None:
            self.lease.check()
            report(percent)

        clip = engine.generate(spec, on_progress=on_progress)
        self.lease.check()
        return clip

    def _write_progress(self, percent: float) -> None:
        try:
            self._store.set_progress(self.job.id, self.lease.worker_id, percent)
        except StoreBusyError:  # progress is best-effort; a lost lease still raises LeaseLostError
            log.warning("job %s: progress not recorded (database unavailable)", self.job.id)

    # --- the outcome -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _deciding_outcome(self) -> Iterator[None]:
        """How a failure inside ends the job: a user-facing failure, `internal_error`, or nothing when
        the job is no longer this worker's. An outage propagates (see the module's docstring)."""
        try:
            yield
        except LeaseLostError:
            log.warning("job %s: no longer this worker's; its result, if any, was discarded", self.job.id)
        except UnavailableError:
            raise
        except GenerationError as exc:
            log.info("job %s failed: %s", self.job.id, exc.message)
            self._fail(exc.code, exc.message)
        except Exception:
            log.exception("job %s: unexpected error", self.job.id)
            self._fail(FailureCode.INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE)

    def _result_metadata(self, publish_timings: dict[str, float]) -> dict[str, Any]:
        """What `metadata` in a completed result says was produced (docs/http-api.md)."""
        clip, spec = self.clip, self.spec
        assert clip is not None and spec is not None, "only a generated clip is completed"
        return {
            "width": clip.width,
            "height": clip.height,
            "fps": clip.fps,
            "duration_seconds": clip.duration_seconds,
            "has_audio": clip.audio is not None,
            **self.metadata,
            **_images_metadata(spec, clip),
            "shots": _shots_metadata(spec, clip.enhanced_prompts),
            "timings": {**{name: round(value, 4) for name, value in clip.timings.items()}, **publish_timings},
        }

    def _complete(self, publisher: Publisher, published: Published, metadata: dict[str, Any]) -> None:
        """The fenced completion. If another worker took the job over, it raises and this upload goes."""
        job = self.job

        def complete() -> None:
            self._store.complete(job.id, self.lease.worker_id, published.video_key, metadata,
                                 poster_key=published.poster_key)

        try:
            self._settle(complete, "the completion")
        except LeaseLostError:
            self._discard(publisher, published)
            raise
        log.info("job %s completed in %.1f s (attempt %d)", job.id, metadata["timings"]["total_seconds"], job.attempts)
        for name, seconds in metadata["timings"].items():
            metrics.STAGE_SECONDS.labels(job.model_id, name.removesuffix("_seconds")).observe(seconds)

    def _fail(self, code: str, message: str) -> None:
        job = self.job
        try:
            self._settle(lambda: self._store.fail(job.id, self.lease.worker_id, code, message, self.metadata),
                         "the failure")
        except LeaseLostError:
            log.warning("job %s: lease lost before its failure could be recorded", job.id)

    def _settle(self, write: Callable[[], None], what: str) -> None:
        """The fenced complete or fail, under the lease's lock, retried while the store is unreachable."""
        retrying(self._config, lambda: self.lease.settle(write), what)

    def _discard(self, publisher: Publisher, published: Published) -> None:
        """Delete this attempt's uploads, unless the row names them: a completion whose reply was lost
        to a dropped connection did commit, and its retry is what got rejected."""
        try:
            row = self._store.get(self.job.id)
        except StoreBusyError:
            return  # unsure, so keep it: the retention purge deletes everything under the request
        if row is None or row.output_key != published.video_key:
            publisher.discard(published)


def _images_metadata(spec: GenerationSpec, clip: Clip) -> dict[str, Any]:
    """Image-to-video: each input image's size (upright), the aspect ratio chosen from the start image's shape,
    and the delivered size every image was center-cropped (and scaled) to. Nothing for text-to-video."""
    if spec.start_image is None:
        return {}
    images = {"start_image": _size(spec.start_image)}
    if spec.end_image is not None:
        images["end_image"] = _size(spec.end_image)
    return {"input_images": {**images, "aspect_ratio": spec.aspect_ratio,
                             "center_cropped_to": {"width": clip.width, "height": clip.height}}}


def _size(image: Image) -> dict[str, int]:
    return {"width": image.width, "height": image.height}


def _shots_metadata(spec: GenerationSpec, enhanced: tuple[str | None, ...]) -> list[dict[str, Any]]:
    fps, start, shots = spec.recipe.fps, 0, []
    for index, shot in enumerate(spec.shot_plans):
        shots.append({"prompt": shot.text, "start_seconds": round(start / fps, 4),
                      "duration_seconds": round(shot.seconds(fps), 4),
                      "enhanced_prompt": enhanced[index] if index < len(enhanced) else None})
        start += shot.frames
    return shots
