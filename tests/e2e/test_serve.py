"""End to end: `reelserve serve` as a real process; HTTP submit -> worker -> MP4 fetched without the token."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.mp4probe import probe_mp4
from tests.live import health, live_server
from tests.seed_prompts import STANDARD_SEED_PROMPT as SEED_PROMPT

STANDARD = "kling/kling-3.0/standard/text-to-video"
PRO = "kling/kling-3.0/pro/text-to-video"


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_cache):
    with live_server(tmp_path_factory.mktemp("serve"), tiny_cache) as live:
        yield live.base, live.key


def run_request(base: str, key: str, model_id: str, body: dict) -> dict:
    auth = {"Authorization": f"Bearer {key}"}
    submitted = httpx.post(f"{base}/v1/models/{model_id}", json=body, headers=auth, timeout=10)
    assert submitted.status_code == 200, submitted.text
    status_url = submitted.json()["status_url"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = httpx.get(status_url, headers=auth, timeout=10).json()
        if status["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.1)
    return httpx.get(submitted.json()["result_url"], headers=auth, timeout=10).json()


def test_seed_walkthrough_gives_a_playable_mp4_with_sound(server, tmp_path) -> None:
    base, key = server
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}  # no key: nothing about the deployment
    details = health(base, key)
    assert details["engine"]["weights"] == "tiny" and details["engine"]["random_weights"] is True

    result = run_request(base, key, STANDARD, {"prompt": SEED_PROMPT, "duration": "5"})
    assert result["status"] == "completed", result
    assert result["metadata"]["engine"]["random_weights"] is True
    shots = result["metadata"]["shots"]  # standard defaults to intelligent: split at the prompt's cut cues
    assert len(shots) >= 3 and sum(s["duration_seconds"] for s in shots) == 5.0

    video = httpx.get(result["output"]["video"], timeout=30)  # no Authorization header
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    path = tmp_path / "out.mp4"
    path.write_bytes(video.content)
    info = probe_mp4(path)
    assert (info.frames, info.fps, info.duration_seconds) == (120, 24, 5.0)
    assert (info.width, info.height) == (result["metadata"]["width"], result["metadata"]["height"]) == (256, 144)
    assert (info.video_codec, info.pix_fmt, info.audio_codec) == ("h264", "yuv420p", "aac")
    assert info.has_audio and info.audio_seconds == 5.0


def test_pro_square_without_sound(server, tmp_path) -> None:
    base, key = server
    result = run_request(base, key, PRO, {"prompt": "a lighthouse in a storm", "aspect_ratio": "1:1",
                                          "duration": 3, "sound": False, "seed": 5})
    assert result["status"] == "completed", result
    path = tmp_path / "pro.mp4"
    path.write_bytes(httpx.get(result["output"]["video"], timeout=30).content)
    info = probe_mp4(path)
    assert (info.width, info.height, info.frames, info.has_audio) == (240, 240, 72, False)
    assert result["metadata"]["seed"] == 5


def test_reelserve_run_against_the_live_server_writes_a_valid_mp4(server, tmp_path) -> None:
    base, key = server
    out = tmp_path / "clip.mp4"
    env = {**os.environ, "REELSERVE_BASE_URL": base, "REELSERVE_API_KEY": key}
    ran = subprocess.run(
        [sys.executable, "-m", "reelserve.cli", "run", STANDARD, "--prompt", "a kite over dunes",
         "--aspect-ratio", "1:1", "--seed", "5", "--shot", "the kite climbs:3", "--shot", "it dives:3",
         "-o", str(out), "--poll-interval", "0.2", "--timeout", "120"],
        capture_output=True, text=True, env=env, timeout=180,
    )
    assert ran.returncode == 0, ran.stderr
    info = probe_mp4(out)
    assert (info.frames, info.width, info.height, info.audio_seconds) == (144, 192, 192, 6.0)
    request_id = re.search(r"request (\S+) submitted", ran.stderr).group(1)
    status = subprocess.run([sys.executable, "-m", "reelserve.cli", "status", request_id, "--json"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert json.loads(status.stdout) == {"request_id": request_id, "status": "completed"}


def python_snippets(doc: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)


@pytest.mark.parametrize("doc,index", [("docs/client.md", i) for i in range(4)] + [("README.md", 0)])
def test_every_python_snippet_in_the_docs_runs(server, tmp_path, doc, index) -> None:
    base, key = server
    snippets = python_snippets(Path(__file__).resolve().parents[2] / doc)
    assert len(snippets) == (4 if doc == "docs/client.md" else 1)  # a new snippet needs a row above
    env = {**os.environ, "REELSERVE_BASE_URL": base, "REELSERVE_API_KEY": key}
    ran = subprocess.run([sys.executable, "-c", snippets[index]], cwd=tmp_path, capture_output=True, text=True,
                         env=env, timeout=240)
    assert ran.returncode == 0, ran.stderr
    videos = list(tmp_path.glob("*.mp4"))
    assert all(probe_mp4(v).frames == 72 for v in videos)


def test_the_same_seed_gives_the_same_video_through_the_server(server, tmp_path) -> None:
    """Three identical requests queued at once, polled while they run: frame-for-frame identical MP4s
    (the seed's promise on one machine: docs/http-api.md, "seed")."""
    import av
    import numpy as np

    base, key = server
    auth = {"Authorization": f"Bearer {key}"}
    body = {"prompt": "a lighthouse at night. Cut to waves on rocks.", "seed": 123456789, "duration": 3}
    submitted = [httpx.post(f"{base}/v1/models/{STANDARD}", json=body, headers=auth, timeout=10).json()
                 for _ in range(3)]
    results = [run_until_done(base, auth, s) for s in submitted]
    videos = []
    for index, result in enumerate(results):
        assert result["status"] == "completed" and result["metadata"]["seed"] == 123456789
        path = tmp_path / f"{index}.mp4"
        path.write_bytes(httpx.get(result["output"]["video"], timeout=30).content)
        with av.open(str(path)) as container:
            frames = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)])
        videos.append((frames, path.read_bytes()))
    for frames, data in videos[1:]:
        assert np.array_equal(frames, videos[0][0])
        assert data == videos[0][1]  # the same encoder settings: the same bytes


def run_until_done(base: str, auth: dict, submitted: dict) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if httpx.get(submitted["status_url"], headers=auth, timeout=10).json()["status"] in ("completed", "failed"):
            break
        time.sleep(0.05)
    return httpx.get(submitted["result_url"], headers=auth, timeout=10).json()
