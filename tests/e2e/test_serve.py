"""End to end: `reelserve serve` as a real process; HTTP submit -> worker -> MP4 fetched without the token."""

from __future__ import annotations

import json
import os
import re
import shutil
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
    # Private webhook addresses allowed: docs/client.md's receiver listens on 127.0.0.1.
    with live_server(tmp_path_factory.mktemp("serve"), tiny_cache, webhook_allow_private="true") as live:
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
    liveness = httpx.get(f"{base}/healthz")
    assert liveness.json() == {"status": "ok"}  # no key: nothing about the deployment
    assert "server" not in liveness.headers  # no `server: uvicorn` banner
    assert liveness.headers["x-content-type-options"] == "nosniff" and liveness.headers["x-request-id"]
    details = health(base, key)
    assert details["engine"]["weights"] == "tiny" and details["engine"]["random_weights"] is True

    result = run_request(base, key, STANDARD, {"prompt": SEED_PROMPT, "duration": "5"})
    assert result["status"] == "completed", result
    assert result["metadata"]["engine"]["random_weights"] is True
    shots = result["metadata"]["shots"]  # standard defaults to intelligent: split at the prompt's cut cues
    assert len(shots) >= 3 and sum(s["duration_seconds"] for s in shots) == 5.0

    poster = httpx.get(result["output"]["poster"], timeout=30)  # a JPEG of one frame, signed like the video
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
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


def first_frame(folder: Path) -> None:
    """The picture of the reader's own that the image-to-video examples name."""
    from tests.images.pictures import encoded

    (folder / "first-frame.png").write_bytes(encoded(640, 360))


@pytest.mark.parametrize("doc,index", [("docs/client.md", i) for i in range(7)] + [("README.md", 0)])
def test_every_python_snippet_in_the_docs_runs(server, tmp_path, doc, index) -> None:
    base, key = server
    snippets = python_snippets(Path(__file__).resolve().parents[2] / doc)
    assert len(snippets) == (7 if doc == "docs/client.md" else 1)  # a new snippet needs a row above
    first_frame(tmp_path)
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


# --- every shell snippet, run as a new user would: in a fresh shell, after the README's activation ---

ROOT = Path(__file__).resolve().parents[2]
# (doc, index of its ```sh block) -> why a block is not run here
NOT_RUN = {("README.md", 0): "make serve / make test: this suite is what make test runs",
           ("README.md", 1): "the activation line: every run block starts with it",
           ("README.md", 6): "real weights on a CUDA machine",
           ("docs/deploy.md", 0): "settings for a PostgreSQL server and a bucket elsewhere"}
SHELL_BLOCKS = {"README.md": 8, "docs/client.md": 1, "docs/deploy.md": 1}


def shell_snippets(doc: str) -> list[str]:
    return re.findall(r"^ *```sh\n(.*?)^ *```", (ROOT / doc).read_text(), flags=re.S | re.M)


def commands(block: str) -> list[str]:
    """One command per entry: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def fresh_shell_path() -> str:
    """PATH as a new shell has it: without this checkout's .venv/bin, so `reelserve` needs the activation."""
    venv_bin = str(ROOT / ".venv" / "bin")
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != Path(venv_bin))


def test_every_shell_block_is_run_or_says_why_not() -> None:
    for doc, count in SHELL_BLOCKS.items():
        assert len(shell_snippets(doc)) == count, f"{doc}: a new ```sh block needs a row here"
    assert shell_snippets("README.md")[1].strip() == "source .venv/bin/activate"


@pytest.fixture(scope="module")
def finished(server, tmp_path_factory):
    """A completed request the snippets' placeholders name: (request id, signed video link)."""
    base, key = server
    submitted = httpx.post(f"{base}/v1/models/{STANDARD}", json={"prompt": "a kite", "duration": 3},
                           headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    result = run_until_done(base, {"Authorization": f"Bearer {key}"}, submitted)
    return result["request_id"], result["output"]["video"]


RUN = [(doc, i) for doc, count in SHELL_BLOCKS.items() for i in range(count) if (doc, i) not in NOT_RUN]


@pytest.mark.parametrize("doc,index", RUN)
def test_every_shell_snippet_in_the_docs_runs_as_written(server, finished, tmp_path, doc, index) -> None:
    base, key = server
    request_id, video = finished
    activation = shell_snippets("README.md")[1].strip()
    (tmp_path / "body.json").write_text(json.dumps({"prompt": "a harbour at dawn", "duration": 3}))
    first_frame(tmp_path)
    # The exported key, and the base URL a user has by default (their server is on port 8000; this one is not).
    env = {**os.environ, "PATH": fresh_shell_path(), "REELSERVE_API_KEY": key, "REELSERVE_BASE_URL": base}
    env.pop("VIRTUAL_ENV", None)
    for command in commands(shell_snippets(doc)[index]):
        command = (command.replace("http://127.0.0.1:8000", base).replace("rs_...", key)
                   .replace("{request_id}", request_id).replace("REQUEST_ID", request_id)
                   .replace("<output.video from the result>", video))
        script = f"cd {ROOT} && {activation} && cd {tmp_path} && {command}"
        ran = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=240)
        # `cancel` on a finished request is the documented exit 5 ("not cancellable").
        allowed = (0, 5) if command.startswith("reelserve cancel") else (0,)
        assert ran.returncode in allowed, f"{command}\n{ran.stdout}\n{ran.stderr}"
        assert "command not found" not in ran.stderr
    for video_file in tmp_path.glob("*.mp4"):
        assert probe_mp4(video_file).frames > 0


def test_without_the_activation_the_command_is_not_on_a_fresh_path() -> None:
    # What made every CLI example fail for a new user; proves the test above needs the activation.
    if shutil.which("reelserve", path=fresh_shell_path()) is not None:
        pytest.skip("a reelserve is installed outside this checkout's .venv")
    ran = subprocess.run(["bash", "-c", "reelserve --help"], capture_output=True, text=True,
                         env={**os.environ, "PATH": fresh_shell_path()})
    assert ran.returncode == 127


def test_the_json_examples_in_http_api_md_have_the_served_shapes(server, finished) -> None:
    base, key = server
    request_id, video = finished
    auth = {"Authorization": f"Bearer {key}"}
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", (ROOT / "docs/http-api.md").read_text(), re.S)]
    error, submit, result, event, log = blocks
    real_result = httpx.get(f"{base}/v1/requests/{request_id}/result", headers=auth).json()
    assert set(result) == set(real_result) and set(result["metadata"]) == set(real_result["metadata"])
    assert set(result["metadata"]["timings"]) == set(real_result["metadata"]["timings"])
    # The link's path: /media/<id>/<attempt>-<random>/video.mp4, the attempt segment included.
    documented = result["output"]["video"].split("?")[0].split("/media/")[1].split("/")
    served = video.split("?")[0].split("/media/")[1].split("/")
    assert len(documented) == len(served) == 3 and documented[-1] == served[-1] == "video.mp4"
    real_submit = httpx.post(f"{base}/v1/models/{STANDARD}", json={"prompt": "x", "duration": 3}, headers=auth).json()
    assert set(submit) == set(real_submit)
    real_error = httpx.post(f"{base}/v1/models/{STANDARD}", json={"prompt": "x", "duration": 16}, headers=auth).json()
    assert set(error) == set(real_error) and set(error["detail"][0]) == set(real_error["detail"][0])
    # A webhook event is an envelope around the result body; the delivery log has the served fields.
    from reelserve.api.wire import WebhookAttemptItem, WebhookDeliveryItem

    assert set(event) == {"type", "timestamp", "data"} and set(event["data"]) == set(real_result)
    real_log = httpx.get(f"{base}/v1/requests/{request_id}/webhooks", headers=auth).json()
    assert set(log) == set(real_log) and set(log["webhook"]) == {"url", "events"}
    assert set(log["deliveries"][0]) == set(WebhookDeliveryItem.model_fields)
    assert set(log["deliveries"][0]["attempts"][0]) == set(WebhookAttemptItem.model_fields)


def test_every_url_field_the_docs_name_exists() -> None:
    """deploy.md once said `response_url`, a field the API never returned."""
    import dataclasses

    from reelserve.api.wire import ResultResponse, StatusResponse, SubmitResponse
    from reelserve.catalog import ImageToVideoInput
    from reelserve.client import Result
    from reelserve.client.settings import ClientSettings
    from reelserve.settings import Settings

    real = {*SubmitResponse.model_fields, *StatusResponse.model_fields, *ResultResponse.model_fields,
            *Settings.model_fields, *ClientSettings.model_fields, *(f.name for f in dataclasses.fields(Result)),
            *ImageToVideoInput.model_fields}  # the image fields of a request body
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for name in re.findall(r"`(\w+_url)`", page.read_text()):
            assert name in real, f"{page.name} names `{name}`, which no response or setting has"


def test_the_sdk_pages_through_the_history_and_sees_the_poster(server, finished) -> None:
    import asyncio

    import reelserve

    base, key = server
    request_id, _ = finished
    with reelserve.Client(base, key) as client:
        for _ in range(2):
            client.submit(STANDARD, {"prompt": "more history", "duration": 3})
        seen, cursor = [], None
        while True:
            page = client.list_requests(limit=2, cursor=cursor)
            seen += page.requests
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert len({r.request_id for r in seen}) == len(seen) >= 3  # every request once, over several pages
    mine = next(r for r in seen if r.request_id == request_id)
    assert mine.status == "completed" and mine.input["prompt"] == "a kite" and mine.poster_url
    assert httpx.get(mine.poster_url).headers["content-type"] == "image/jpeg"

    async def first_page():
        async with reelserve.AsyncClient(base, key) as client:
            return await client.list_requests(limit=1)

    assert asyncio.run(first_page()).requests[0].request_id == seen[0].request_id
