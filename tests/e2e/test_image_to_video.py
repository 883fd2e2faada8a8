"""End to end: `reelserve serve` as a real process; image-to-video over HTTP, one image inline as a data URI and one
by an http URL on 127.0.0.1 (REELSERVE_MEDIA_ALLOW_PRIVATE=true), each to an MP4 fetched without the token."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.images.pictures import encoded
from tests.images.server import Page, serving
from tests.live import live_server
from tests.mp4probe import probe_mp4
from tests.polling import wait_for

STANDARD_I2V = "kling/kling-3.0/standard/image-to-video"
PRO_I2V = "kling/kling-3.0/pro/image-to-video"


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_cache):
    with live_server(tmp_path_factory.mktemp("serve"), tiny_cache, media_allow_private="true") as live:
        yield live


def finished(live, request_id: str) -> dict:
    status_url = f"{live.base}/v1/requests/{request_id}/status"
    wait_for(lambda: httpx.get(status_url, headers=live.auth, timeout=10).json()["status"] in ("completed", "failed"),
             timeout=180)
    return httpx.get(f"{live.base}/v1/requests/{request_id}/result", headers=live.auth, timeout=10).json()


def fetched_video(result: dict, path: Path):
    video = httpx.get(result["output"]["video"], timeout=30)  # no Authorization header: a signed link
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4", video.status_code
    path.write_bytes(video.content)
    return probe_mp4(path)


def submit(live, model_id: str, body: dict) -> str:
    response = httpx.post(f"{live.base}/v1/models/{model_id}", json=body, headers=live.auth, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["request_id"]


def test_a_data_uri_start_image_gives_a_video_shaped_like_it(server, tmp_path) -> None:
    portrait = base64.b64encode(encoded(360, 640, "JPEG")).decode()
    request_id = submit(server, STANDARD_I2V, {"prompt": "a lighthouse at dusk", "duration": "3", "seed": 5,
                                               "start_image_url": f"data:image/jpeg;base64,{portrait}"})
    result = finished(server, request_id)
    assert result["status"] == "completed", result
    info = fetched_video(result, tmp_path / "portrait.mp4")
    assert ((info.width, info.height), info.frames, info.fps, info.audio_seconds) == ((144, 256), 72, 24, 3.0), info
    assert result["metadata"]["input_images"] == {"start_image": {"width": 360, "height": 640}, "aspect_ratio": "9:16",
                                                  "center_cropped_to": {"width": 144, "height": 256}}
    listed = httpx.get(f"{server.base}/v1/requests", headers=server.auth, timeout=10).json()["requests"]
    stored = next(item["input"] for item in listed if item["request_id"] == request_id)
    assert "stored with the request" in stored["start_image_url"] and len(stored["start_image_url"]) < 200, stored


def test_url_start_and_end_images_are_fetched_once_at_submit(server, tmp_path) -> None:
    square, wide = encoded(500, 500), encoded(600, 400, "WEBP")
    with serving({"/start.png": Page(body=square), "/end.webp": Page(body=wide)}) as images:
        request_id = submit(server, PRO_I2V, {"prompt": "a kite climbs", "duration": 3, "sound": False, "seed": 5,
                                              "start_image_url": images.url("/start.png"),
                                              "end_image_url": images.url("/end.webp")})
        fetched_at_submit = sorted(images.paths)
    # The image server is gone before the worker can have finished: the stored bytes are what it reads.
    assert fetched_at_submit == ["/end.webp", "/start.png"], fetched_at_submit
    result = finished(server, request_id)
    assert result["status"] == "completed", result
    info = fetched_video(result, tmp_path / "square.mp4")
    assert ((info.width, info.height), info.frames, info.has_audio) == ((240, 240), 72, False), info
    assert result["metadata"]["input_images"] == {
        "start_image": {"width": 500, "height": 500}, "end_image": {"width": 600, "height": 400},
        "aspect_ratio": "1:1", "center_cropped_to": {"width": 240, "height": 240}}
