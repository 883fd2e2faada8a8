"""Image-to-video and the 4K tier through the worker's production path, on the tiny weights.

Requests are submitted through the app as `reelserve serve` builds it (in-process, over the same SQLite store
and media storage the worker uses), so each image is fetched or decoded once and stored with the request by
the API's own code; then a worker runs them to MP4s that are decoded and measured. The tiny weights render a
fraction of each tier's size (engines/ltx2/tiny.py: standard /5, pro /6, 4K /12).
"""

from __future__ import annotations

import base64
import dataclasses
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reelserve.api import create_app
from reelserve.cli.compose import api_config, storage_for, store_for
from reelserve.errors import StorageUnavailableError
from reelserve.storage import LocalMediaStorage, MediaStorage, media_key
from reelserve.store import JobStore, Status
from reelserve.worker import Janitor
from tests.images.pictures import encoded
from tests.images.server import Page, serving
from tests.mp4probe import probe_mp4
from tests.worker.driving import work_through, worker_for

KLING = "kling/kling-3.0"
PORTRAIT, SQUARE, THREE_BY_TWO = encoded(360, 640), encoded(400, 400, "JPEG"), encoded(600, 400, "WEBP")


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


@dataclasses.dataclass
class Setup:
    client: TestClient
    headers: dict[str, str]
    store: JobStore
    storage: MediaStorage

    def submit(self, model_id: str, body: dict) -> str:
        response = self.client.post(f"/v1/models/{model_id}", json={"duration": 3, "seed": 5, **body},
                                    headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()["request_id"]

    def stored(self, request_id: str, name: str = "start_image") -> Path:
        """Where the data dir holds one of the request's images."""
        assert isinstance(self.storage, LocalMediaStorage), "only the data dir has paths"
        return self.storage.path_for(media_key(request_id, filename=name))


def make_setup(settings) -> Setup:
    """The app and a worker's parts over one store and one media storage; image URLs on 127.0.0.1 allowed."""
    store, storage = store_for(settings), storage_for(settings)
    key, plaintext = store.create_key("images")
    config = dataclasses.replace(api_config(settings), media_allow_private=True)
    client = TestClient(create_app(config, store, storage), raise_server_exceptions=False)
    return Setup(client, {"Authorization": f"Bearer {plaintext}"}, store, storage)


@pytest.fixture
def setup(settings) -> Setup:
    return make_setup(settings)


def measured(storage: MediaStorage, job) -> tuple[tuple[int, int], int, bool]:
    info = probe_mp4(storage.path_for(job.output_key))
    return (info.width, info.height), info.frames, info.has_audio


@pytest.mark.whole  # six generations, end to end: in `make test`, not the fast lane
def test_all_six_model_ids_run_to_mp4s_the_image_ones_shaped_by_their_start_image(settings, setup, tiny_engine) -> None:
    """Text-to-video in each tier by its aspect_ratio; image-to-video in each tier by its start image's shape:
    portrait -> 9:16, square -> 1:1, 3:2 -> 16:9 (the nearest of the three). The images' server is gone
    before the worker runs: only the bytes stored at submit can be what it reads."""
    cases = [  # model, body, delivered size at tiny scale
        (f"{KLING}/standard/text-to-video", {"prompt": "a harbour", "aspect_ratio": "9:16"}, (144, 256)),
        (f"{KLING}/pro/text-to-video", {"prompt": "a harbour", "aspect_ratio": "1:1", "sound": False}, (240, 240)),
        (f"{KLING}/4k/text-to-video", {"prompt": "a harbour"}, (320, 180)),
    ]
    with serving({"/portrait.png": Page(body=PORTRAIT), "/square.jpg": Page(body=SQUARE)}) as server:
        cases += [
            (f"{KLING}/pro/image-to-video", {"prompt": "the kite lifts", "start_image_url": server.url("/portrait.png")},
             (180, 320)),
            (f"{KLING}/standard/image-to-video", {"prompt": "the kite lifts", "sound": False,
                                                 "start_image_url": server.url("/square.jpg"),
                                                 "end_image_url": data_uri(PORTRAIT)}, (192, 192)),
            (f"{KLING}/4k/image-to-video", {"prompt": "the kite lifts",
                                           "start_image_url": data_uri(THREE_BY_TWO, "image/webp")}, (320, 180)),
        ]
        ids = [setup.submit(model, body) for model, body, _ in cases]
        assert sorted(server.paths) == ["/portrait.png", "/square.jpg"], f"fetched at submit: {server.paths}"
    finished = work_through(worker_for(settings, setup.store, setup.storage, tiny_engine), setup.store, ids)
    for (model, body, size), done in zip(cases, finished, strict=True):
        assert (done.status, done.attempts) == (Status.COMPLETED, 1), f"{model}: {done.status} {done.error_message}"
        assert measured(setup.storage, done) == (size, 72, body.get("sound", True)), model
        assert (done.metadata["width"], done.metadata["height"], done.metadata["duration_seconds"]) == (*size, 3.0)
        assert ("input_images" in done.metadata) is ("image-to-video" in model), done.metadata.keys()
    images = [done.metadata["input_images"] for done in finished[3:]]
    assert images == [
        {"start_image": {"width": 360, "height": 640}, "aspect_ratio": "9:16",
         "center_cropped_to": {"width": 180, "height": 320}},
        {"start_image": {"width": 400, "height": 400}, "end_image": {"width": 360, "height": 640},
         "aspect_ratio": "1:1", "center_cropped_to": {"width": 192, "height": 192}},
        {"start_image": {"width": 600, "height": 400}, "aspect_ratio": "16:9",
         "center_cropped_to": {"width": 320, "height": 180}},
    ], images


def test_exif_orientation_is_applied_again_to_the_stored_bytes(settings, setup, tiny_engine) -> None:
    """A landscape JPEG stored sideways (EXIF orientation 6: turn it a quarter): the video is portrait."""
    sideways = encoded(640, 360, "JPEG", orientation=6)
    request_id = setup.submit(f"{KLING}/standard/image-to-video",
                              {"prompt": "a lighthouse", "sound": False, "start_image_url": data_uri(sideways, "image/jpeg")})
    assert setup.stored(request_id).read_bytes() == sideways, "the original bytes are stored, not a re-encoding"
    (done,) = work_through(worker_for(settings, setup.store, setup.storage, tiny_engine), setup.store, [request_id])
    assert done.status is Status.COMPLETED, done.error_message
    assert measured(setup.storage, done)[0] == (144, 256)
    assert done.metadata["input_images"]["start_image"] == {"width": 360, "height": 640}


def test_a_retry_reads_the_same_stored_image_and_retention_deletes_it(settings, setup, tiny_engine) -> None:
    """A first attempt whose worker died (its lease ran out), the image's URL gone by then: the second
    attempt reads the bytes stored at submit. Then the janitor's purge deletes them with the video."""
    with serving({"/start.png": Page(body=PORTRAIT)}) as server:
        request_id = setup.submit(f"{KLING}/pro/image-to-video", {
            "prompt": "a gull", "sound": False, "start_image_url": server.url("/start.png"),
            "end_image_url": server.url("/start.png")})
        assert server.paths == ["/start.png", "/start.png"]
    store = setup.store
    first = store.claim("worker-that-died", lease_seconds=0.05)
    assert first is not None and first.id == request_id
    time.sleep(0.1)
    assert store.reap_expired_leases().requeued == [request_id]
    (done,) = work_through(worker_for(settings, store, setup.storage, tiny_engine), store, [request_id])
    assert (done.status, done.attempts) == (Status.COMPLETED, 2), (done.status, done.attempts, done.error_message)
    assert done.metadata["input_images"]["start_image"] == {"width": 360, "height": 640}
    assert measured(setup.storage, done)[0] == (180, 320)
    stored = [setup.stored(request_id), setup.stored(request_id, "end_image")]
    assert all(path.read_bytes() == PORTRAIT for path in stored), "the stored images changed"

    janitor = Janitor(store, setup.storage, retention_seconds=0.001, reap_every=60)
    time.sleep(0.01)
    assert janitor.purge() == 1
    left = [str(path) for path in [*stored, setup.storage.path_for(done.output_key)] if path.exists()]
    assert left == [], f"retention left {left}"
    assert not (setup.storage.root / request_id).exists()


@pytest.mark.parametrize("damage", ["deleted", "corrupted"])
def test_a_stored_image_that_is_gone_or_broken_fails_the_request_saying_so(settings, setup, tiny_engine,
                                                                          damage) -> None:
    request_id = setup.submit(f"{KLING}/standard/image-to-video", {"prompt": "a gull", "start_image_url":
                                                                   data_uri(SQUARE, "image/jpeg")})
    stored = setup.stored(request_id)
    if damage == "deleted":
        setup.storage.delete(media_key(request_id, filename="start_image"))
    else:
        stored.write_bytes(SQUARE[: len(SQUARE) // 3])  # a JPEG cut short
    (failed,) = work_through(worker_for(settings, setup.store, setup.storage, tiny_engine), setup.store, [request_id])
    assert (failed.status, failed.error_code) == (Status.FAILED, "invalid_input"), (failed.status, failed.error_code)
    expected = "is no longer in the media storage" if damage == "deleted" else "can no longer be used (starts like"
    assert expected in failed.error_message and "start_image_url" in failed.error_message, failed.error_message
    assert "submit the request again" in failed.error_message, failed.error_message
    assert failed.attempts == 1, failed.attempts


def test_a_storage_outage_while_reading_the_images_hands_the_request_back(settings, setup, tiny_engine,
                                                                        caplog) -> None:
    """Not the request's fault: it goes back to the queue uncounted, and completes once the storage answers."""
    request_id = setup.submit(f"{KLING}/standard/image-to-video", {"prompt": "a gull", "sound": False,
                                                                   "start_image_url": data_uri(PORTRAIT)})
    storage = setup.storage
    real_read, calls = storage.read, []

    def flaky_read(key, *, max_bytes):
        calls.append(key)
        if len(calls) <= 2:
            raise StorageUnavailableError("The media storage is unavailable (download: connection refused).")
        return real_read(key, max_bytes=max_bytes)

    storage.read = flaky_read
    worker = worker_for(settings, setup.store, storage, tiny_engine, pause_after_fault_seconds=0.01)
    (done,) = work_through(worker, setup.store, [request_id])
    assert (done.status, done.attempts, len(calls)) == (Status.COMPLETED, 1, 3), (done.status, done.attempts, calls)
    assert "goes back to the queue" in caplog.text


def test_on_s3_a_worker_reads_the_image_from_the_bucket_and_the_purge_empties_it(settings, s3_endpoint, s3_url,
                                                                               tiny_engine) -> None:
    """The scale-out case: the API and the workers share only the bucket, which holds the image for every attempt."""
    from tests.conftest import S3_CREDENTIALS

    settings = settings.model_copy(update={"storage_url": s3_url, "s3_endpoint_url": s3_endpoint, **S3_CREDENTIALS})
    on_s3 = make_setup(settings)
    request_id = on_s3.submit(f"{KLING}/standard/image-to-video", {"prompt": "a gull", "sound": False,
                                                                    "start_image_url": data_uri(PORTRAIT)})
    bucket = on_s3.storage._client  # the same client, for looking at what the bucket holds
    key = f"videos/{media_key(request_id, filename='start_image')}"
    assert bucket.get_object(Bucket=on_s3.storage.bucket, Key=key)["Body"].read() == PORTRAIT
    (done,) = work_through(worker_for(settings, on_s3.store, on_s3.storage, tiny_engine), on_s3.store, [request_id])
    assert done.status is Status.COMPLETED, done.error_message
    assert (done.metadata["width"], done.metadata["height"]) == (144, 256), done.metadata
    assert done.metadata["input_images"]["aspect_ratio"] == "9:16"
    janitor = Janitor(on_s3.store, on_s3.storage, retention_seconds=0.001, reap_every=60)
    time.sleep(0.01)
    assert janitor.purge() == 1
    assert bucket.list_objects_v2(Bucket=on_s3.storage.bucket)["KeyCount"] == 0
