"""The worker's promise: every claimed job ends completed or failed, with a code a user understands."""

from __future__ import annotations

import threading
import time

import httpx
import numpy as np
import pytest

from reelserve.cli.compose import storage_for, store_for
from reelserve.engines.base import EngineInfo
from reelserve.media import Clip
from reelserve.errors import EngineInputError
from tests.mp4probe import probe_mp4
from reelserve.store import Status
from reelserve.worker import Janitor, ProgressReporter, Worker, WorkerConfig, WorkerState
from tests.polling import wait_for
from tests.jobs import submit
from tests.worker.driving import (JOBS_TIMEOUT_SECONDS, SHORT_LEASE_SECONDS, STARTED_TIMEOUT_SECONDS, work_through,
                                  worker_for)

STANDARD = "kling/kling-3.0/standard/text-to-video"
BODY = {"prompt": "waves at dusk", "duration": 3, "aspect_ratio": "9:16", "cfg_scale": 0.5, "sound": True,
        "negative_prompt": None, "multi_prompt": [], "seed": 11, "shot_type": "customize"}


class ExplodingEngine:
    """Stands in for an engine that fails; the real engine runs in the other tests."""

    def __init__(self, error: Exception, info) -> None:
        self.error, self.info = error, info

    def generate(self, spec, on_progress=None):
        raise self.error


class SleepingEngine:
    """Stands in for a long generation: sleeps in 50 ms steps, reporting progress after each, then returns a clip."""

    info = EngineInfo(family="sleeping", weights="none", random_weights=True, device="cpu", dtype="none")

    def __init__(self, seconds: float) -> None:
        self.steps = round(seconds / 0.05)
        self.started = threading.Event()

    def generate(self, spec, on_progress=None):
        self.started.set()
        for step in range(self.steps):
            time.sleep(0.05)
            if on_progress is not None:
                on_progress(100.0 * (step + 1) / self.steps)
        return Clip(frames=np.zeros((4, 64, 64, 3), dtype=np.uint8), fps=24, audio=None, sample_rate=None)


def make_worker(settings, store, storage, engine, **config) -> Worker:
    """A worker with its engine loaded (IDLE), on the tests' config unless `config` says otherwise."""
    worker = worker_for(settings, store, storage, engine, **config)
    worker.load()
    return worker


def test_job_runs_to_a_stored_mp4(settings, parts, tiny_engine) -> None:
    store, storage, owner = parts
    job = submit(store, owner, STANDARD, BODY)
    (done,) = work_through(make_worker(settings, store, storage, tiny_engine), store, [job.id])
    assert done.status is Status.COMPLETED and done.progress == 100.0 and done.lease_owner is None
    assert done.attempts == 1  # claimed once, by this worker
    meta = done.metadata
    assert (meta["width"], meta["height"], meta["fps"], meta["duration_seconds"]) == (144, 256, 24, 3.0)
    assert meta["has_audio"] is True and meta["seed"] == 11
    # The default family, LTX-2.5, enhances each shot's prompt; its toy enhancer writes noise.
    enhanced = meta["shots"][0].pop("enhanced_prompt")
    assert isinstance(enhanced, str) and enhanced
    assert meta["shots"] == [{"prompt": "waves at dusk", "start_seconds": 0.0, "duration_seconds": 3.0}]
    assert "enhance_prompt_seconds" in meta["timings"]
    assert {"generate_seconds", "encode_seconds", "store_seconds", "total_seconds"} <= set(meta["timings"])
    info = probe_mp4(storage.path_for(done.output_key))
    assert (info.frames, info.width, info.height, info.audio_seconds) == (72, 144, 256, 3.0)


def test_seed_is_drawn_and_reported_when_absent(settings, parts, tiny_engine) -> None:
    store, storage, owner = parts
    job = submit(store, owner, STANDARD, {**BODY, "seed": None, "sound": False})
    (done,) = work_through(make_worker(settings, store, storage, tiny_engine), store, [job.id])
    assert isinstance(done.metadata["seed"], int) and done.metadata["has_audio"] is False


def test_engine_input_error_fails_the_job_with_its_code(settings, parts, tiny_engine) -> None:
    store, storage, owner = parts
    job = submit(store, owner, STANDARD, BODY)
    engine = ExplodingEngine(EngineInputError("the engine rejected this input: prompt too odd"), tiny_engine.info)
    (failed,) = work_through(make_worker(settings, store, storage, engine), store, [job.id])
    assert (failed.status, failed.error_code) == (Status.FAILED, "invalid_input")
    assert "prompt too odd" in failed.error_message and failed.metadata["seed"] == 11


def test_a_stored_input_that_no_longer_passes_its_schema_fails_naming_the_field(settings, parts, tiny_engine) -> None:
    """The worker validates job.input with the same model the API used; a row from another version fails cleanly."""
    store, storage, owner = parts
    job = submit(store, owner, STANDARD, {**BODY, "duration": 99})
    (failed,) = work_through(make_worker(settings, store, storage, tiny_engine), store, [job.id])
    assert (failed.status, failed.error_code) == (Status.FAILED, "invalid_input")
    assert "duration" in failed.error_message and "submit it again" in failed.error_message


def test_unexpected_error_fails_the_job_without_leaking_it(settings, parts, tiny_engine) -> None:
    store, storage, owner = parts
    job = submit(store, owner, STANDARD, BODY)
    engine = ExplodingEngine(KeyError("internal secret"), tiny_engine.info)
    (failed,) = work_through(make_worker(settings, store, storage, engine), store, [job.id])
    assert (failed.status, failed.error_code) == (Status.FAILED, "internal_error")
    assert "secret" not in failed.error_message and failed.lease_owner is None


def test_run_loads_engine_once_and_stops_on_request(settings, parts, tiny_engine) -> None:
    store, storage, owner = parts
    loads: list[int] = []

    def load():
        loads.append(1)
        return tiny_engine

    worker = Worker(store, storage, load, WorkerConfig(lease_seconds=30, poll_seconds=0.01,
                                                      scratch_dir=settings.data_dir / "tmp"))
    jobs = [submit(store, owner, STANDARD, {**BODY, "sound": False}) for _ in range(2)]
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + JOBS_TIMEOUT_SECONDS
    try:
        while not all(store.get(j.id).status is Status.COMPLETED for j in jobs) and time.monotonic() < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=60)
    statuses = [store.get(j.id).status.value for j in jobs]
    assert statuses == ["completed"] * 2 and loads == [1], f"statuses {statuses}, {len(loads)} engine loads"
    (seen,) = store.live_workers(60)
    assert seen.engine["state"] == "ready" and seen.engine["random_weights"] is True


def test_progress_reporter_writes_at_most_once_an_interval() -> None:
    now = [100.0]
    written: list[float] = []
    report = ProgressReporter(written.append, interval=1.0, clock=lambda: now[0])
    for step in range(30):  # 30 steps, 0.25 s apart: 7.5 s of work
        report(float(step + 1))
        now[0] += 0.25
    assert written == [1.0, 5.0, 9.0, 13.0, 17.0, 21.0, 25.0, 29.0]


def test_progress_reporter_throttles_and_never_goes_back() -> None:
    written: list[float] = []
    report = ProgressReporter(written.append, interval=3600)
    for value in (10, 5, 50, 100):
        report(value)
    assert written == [10]
    report = ProgressReporter(written.append, interval=0)
    for value in (20, 15, 30, 30, 60):
        report(value)
    assert written == [10, 20, 30, 60]


@pytest.mark.whole  # a long multi-shot generation: in `make test`, not the fast lane
def test_multi_prompt_shots_are_reported_with_their_cut_times(settings, parts, tiny_engine) -> None:
    store, storage, owner = parts
    body = {**BODY, "duration": 7, "sound": True, "enhance_prompt": False,
            "multi_prompt": [{"prompt": "a gull lands", "duration": 3}, {"prompt": "it takes off", "duration": 4}]}
    job = submit(store, owner, STANDARD, body)
    (done,) = work_through(make_worker(settings, store, storage, tiny_engine), store, [job.id])
    assert done.metadata["shots"] == [
        {"prompt": "a gull lands", "start_seconds": 0.0, "duration_seconds": 3.0, "enhanced_prompt": None},
        {"prompt": "it takes off", "start_seconds": 3.0, "duration_seconds": 4.0, "enhanced_prompt": None},
    ]
    info = probe_mp4(storage.path_for(done.output_key))
    assert (info.frames, info.audio_seconds) == (168, 7.0)


@pytest.mark.whole  # a long multi-shot generation: in `make test`, not the fast lane
def test_status_progress_rises_across_shots_and_stages(settings, parts, tiny_engine, monkeypatch) -> None:
    """Unthrottled here (the throttle has its own clock-driven test), so every step's write is seen."""
    store, storage, owner = parts
    body = {**BODY, "duration": 9, "multi_prompt": [{"prompt": "dawn", "duration": 3}, {"prompt": "noon", "duration": 3},
                                                    {"prompt": "dusk", "duration": 3}]}
    job = submit(store, owner, STANDARD, body)
    seen: list[tuple[float, str, float]] = []  # (when, status, progress) as a client polling status sees it
    real_set_progress = store.set_progress

    def set_progress(job_id, worker_id, percent):
        real_set_progress(job_id, worker_id, percent)
        current = store.get(job_id)
        seen.append((time.monotonic(), current.status.value, current.progress))

    monkeypatch.setattr(store, "set_progress", set_progress)
    work_through(make_worker(settings, store, storage, tiny_engine, progress_interval=0.0), store, [job.id])
    values = [progress for _, _, progress in seen]
    assert len(values) >= 3 * 2 and all(status == "in_progress" for _, status, _ in seen)  # >= 2 stages x 3 shots
    assert values == sorted(values) and len(set(values)) == len(values) and 0 < values[0] and values[-1] <= 100
    assert store.get(job.id).progress == 100.0 and store.get(job.id).status is Status.COMPLETED


def test_janitor_runs_each_chore_when_due_and_survives_a_failing_one(parts, caplog) -> None:
    store, storage, _ = parts
    now = [0.0]
    janitor = Janitor(store, storage, retention_seconds=3600, reap_every=1.0, purge_every=60.0, clock=lambda: now[0])
    calls: list[str] = []
    janitor.reap = lambda: calls.append("reap")

    def purge():
        calls.append("purge")
        raise RuntimeError("disk gone")

    janitor.purge = purge
    for t in (0.0, 0.5, 1.0, 30.0, 60.0):
        now[0] = t
        janitor.run_due()
    assert calls == ["reap", "purge", "reap", "reap", "reap", "purge"]
    assert "housekeeping: purge failed" in caplog.text


def test_drain_hands_back_a_request_that_outlives_the_grace_period(settings, parts) -> None:
    store, storage, owner = parts
    job = submit(store, owner, STANDARD, BODY)
    engine = SleepingEngine(seconds=10)  # unless stopped: it reports progress, which raises once handed back
    worker = make_worker(settings, store, storage, engine, progress_interval=0.0)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    assert engine.started.wait(STARTED_TIMEOUT_SECONDS), "the worker never started the request"
    stop.set()
    assert worker.drain(0.2) is False
    thread.join(timeout=STARTED_TIMEOUT_SECONDS)
    back = store.get(job.id)
    assert not thread.is_alive(), "the engine kept running after its request was handed back"
    assert (back.status, back.attempts, back.lease_owner) == (Status.IN_QUEUE, 0, None)


def test_drain_of_an_idle_worker_returns_at_once(settings, parts, tiny_engine) -> None:
    store, storage, _ = parts
    worker = make_worker(settings, store, storage, tiny_engine)
    began = time.monotonic()
    assert worker.drain(30) is True and time.monotonic() - began < 1


@pytest.mark.whole  # waits out several short leases: in `make test`, not the fast lane
def test_a_request_finishing_in_the_grace_period_keeps_its_lease(settings, parts) -> None:
    """A request four leases long, shutdown at once, a reaper running all along: it completes on attempt 1."""
    store, storage, owner = parts
    job = submit(store, owner, STANDARD, BODY)
    engine = SleepingEngine(seconds=4 * SHORT_LEASE_SECONDS)
    worker = worker_for(settings, store, storage, engine, lease_seconds=SHORT_LEASE_SECONDS)
    stop, reaping = threading.Event(), threading.Event()
    reaped: list = []

    def reaper():
        while not reaping.wait(0.05):
            reaped.append(store.reap_expired_leases())

    threads = [threading.Thread(target=worker.run, args=(stop,)), threading.Thread(target=reaper)]
    for thread in threads:
        thread.start()
    assert engine.started.wait(STARTED_TIMEOUT_SECONDS), "the worker never started the request"
    stop.set()
    assert worker.drain(STARTED_TIMEOUT_SECONDS) is True
    reaping.set()
    for thread in threads:
        thread.join(timeout=STARTED_TIMEOUT_SECONDS)
    done = store.get(job.id)
    assert (done.status, done.attempts) == (Status.COMPLETED, 1)
    assert all(r.requeued == [] and r.interrupted == [] for r in reaped), [r for r in reaped if r.requeued or r.interrupted]


def test_an_idle_worker_on_postgres_starts_a_new_request_without_waiting_to_poll(settings, pg_url) -> None:
    """poll_seconds is 60: only NOTIFY can make the pickup fast."""
    settings = settings.model_copy(update={"database_url": pg_url})
    store, storage = store_for(settings), storage_for(settings)
    owner, _ = store.create_key("k")
    engine = SleepingEngine(seconds=0.05)
    worker = worker_for(settings, store, storage, engine, poll_seconds=60)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: worker.state is WorkerState.IDLE, STARTED_TIMEOUT_SECONDS)  # loaded
        time.sleep(0.5)  # and past its first (empty) claim: idle, listening
        submitted = time.monotonic()
        submit(store, owner.id, STANDARD, BODY)
        assert engine.started.wait(STARTED_TIMEOUT_SECONDS), "the worker never started the request"
        pickup = time.monotonic() - submitted
        assert pickup < 30, "the worker waited for its poll instead of being notified"
    finally:
        stop.set()
        worker.wake()
        thread.join(timeout=STARTED_TIMEOUT_SECONDS)
        store.close()
    assert not thread.is_alive(), "wake() cut the idle wait short"
    print(f"\nPostgreSQL pickup with a 60 s poll interval: {pickup * 1000:.1f} ms")


def test_on_postgres_and_s3_a_worker_publishes_a_presigned_video_and_the_janitor_purges_it(
        settings, pg_url, s3_endpoint, s3_url, tiny_engine, tmp_path) -> None:
    """The scale-out storage pair end to end: real store, real bucket, real engine, real purge."""
    from tests.conftest import S3_CREDENTIALS

    settings = settings.model_copy(update={"database_url": pg_url, "storage_url": s3_url,
                                           "s3_endpoint_url": s3_endpoint, **S3_CREDENTIALS})
    store, storage = store_for(settings), storage_for(settings)
    owner, _ = store.create_key("k")
    job = submit(store, owner.id, STANDARD, BODY)
    (done,) = work_through(make_worker(settings, store, storage, tiny_engine), store, [job.id])
    assert done.attempts == 1  # claimed once, by this worker
    url = storage.url_for(done.output_key)  # what the result's output.video links to
    assert url.startswith(f"{s3_endpoint}/") and "X-Amz-Signature=" in url
    (tmp_path / "got.mp4").write_bytes(httpx.get(url).raise_for_status().content)
    info = probe_mp4(tmp_path / "got.mp4")
    assert (info.frames, info.width, info.height, info.audio_seconds) == (72, 144, 256, 3.0)

    janitor = Janitor(store, storage, retention_seconds=0.001, reap_every=60)
    time.sleep(0.01)
    assert janitor.purge() == 1
    assert store.get(job.id) is None and store.was_expired(job.id, owner.id)
    assert storage._client.list_objects_v2(Bucket=storage.bucket)["KeyCount"] == 0
    store.close()


@pytest.mark.whole  # seconds of a cut connection, through a proxy
def test_a_worker_rides_out_a_database_outage_mid_request_and_while_idle(settings, pg_url) -> None:
    """PostgreSQL unreachable for 1.5 s, twice: the worker neither dies nor loses or fails a request."""
    from reelserve.errors import StoreUnavailableError
    from reelserve.store.postgres import PostgresJobStore
    from tests.faults import TcpProxy

    proxy = TcpProxy(("127.0.0.1", 5432))
    proxied = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert proxied != pg_url
    direct, store = PostgresJobStore(pg_url), PostgresJobStore(proxied, pool_size=3)
    direct.migrate()
    store._pool.timeout = 2  # how long a call waits for a connection before giving up (5 s in production)
    owner, _ = direct.create_key("k")
    engine = SleepingEngine(seconds=1.0)
    worker = worker_for(settings, store, storage_for(settings), engine, lease_seconds=4, poll_seconds=0.05,
                        progress_interval=0.0)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        first = submit(direct, owner.id, STANDARD, BODY)
        assert engine.started.wait(STARTED_TIMEOUT_SECONDS), "the worker never started the request"
        proxy.cut()  # mid-request: progress writes and the lease renewal fail
        with pytest.raises(StoreUnavailableError):
            store.get(first.id)  # what an API replica would answer 503001 with
        time.sleep(1.5)
        proxy.restore()
        wait_for(lambda: direct.get(first.id).status is Status.COMPLETED)
        proxy.cut()  # idle: claims fail
        time.sleep(1.5)
        second = submit(direct, owner.id, STANDARD, BODY)
        proxy.restore()
        wait_for(lambda: direct.get(second.id).status is Status.COMPLETED)
        assert thread.is_alive()
        assert [direct.get(j.id).attempts for j in (first, second)] == [1, 1]
    finally:
        stop.set()
        worker.wake()
        thread.join(timeout=20)
        proxy.close()
        store.close()
        direct.close()


@pytest.mark.whole  # waits out a lease: in `make test`, not the fast lane
def test_a_completion_whose_reply_was_lost_keeps_its_video(settings, tiny_engine) -> None:
    """The commit landed but the connection dropped before the reply: the retry is rejected by the
    lease fence, and the worker must not delete the video the row now points at."""
    from reelserve.errors import StoreUnavailableError
    from reelserve.store import SqliteJobStore

    class LostReply(SqliteJobStore):
        lost = False

        def complete(self, *args, **kwargs) -> None:
            super().complete(*args, **kwargs)
            if not self.lost:
                self.lost = True
                raise StoreUnavailableError()

    store = LostReply(settings.database_path)
    store.migrate()
    storage = storage_for(settings)
    job = submit(store, store.create_key("k")[0].id, STANDARD, BODY)
    (done,) = work_through(make_worker(settings, store, storage, tiny_engine), store, [job.id])
    assert done.attempts == 1  # claimed once, by this worker
    assert done.status is Status.COMPLETED and store.lost
    assert storage.path_for(done.output_key).is_file()


def test_a_storage_outage_during_the_upload_is_retried_not_failed(settings, parts, tiny_engine, caplog) -> None:
    from reelserve.errors import StorageUnavailableError

    store, storage, owner = parts
    real_put, calls = storage.put, []

    def flaky_put(key, source):
        if key.endswith("video.mp4"):  # the video's upload; the poster goes up first, and fine
            calls.append(key)
            if len(calls) <= 2:
                raise StorageUnavailableError("The media storage is unavailable (upload: connection refused).")
        real_put(key, source)

    storage.put = flaky_put
    job = submit(store, owner, STANDARD, BODY)
    # The worker waits a second between retries (WorkerConfig.store_retry_seconds); this test need not.
    worker = make_worker(settings, store, storage, tiny_engine, store_retry_seconds=0.01)
    (done,) = work_through(worker, store, [job.id])
    assert (done.status, done.attempts, len(calls)) == (Status.COMPLETED, 1, 3)
    assert "Retrying the upload" in caplog.text


def test_a_completed_job_has_a_poster_of_the_videos_size(settings, parts, tiny_engine) -> None:
    from PIL import Image

    store, storage, owner = parts
    job = submit(store, owner, STANDARD, BODY)
    (done,) = work_through(make_worker(settings, store, storage, tiny_engine), store, [job.id])
    assert done.poster_key == done.output_key.replace("video.mp4", "poster.jpg")
    with Image.open(storage.path_for(done.poster_key)) as poster:
        assert poster.format == "JPEG" and poster.size == (done.metadata["width"], done.metadata["height"])
