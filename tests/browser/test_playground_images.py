"""Image to video in the playground, at 1280 and 375 px, against a real `reelserve serve` with tiny
weights: a start image picked with the file input or dropped on its zone, previewed, scaled down
when too large, and sent as a data URI with the request.

These run only where the server lists an image-to-video model (kling/kling-3.0/*/image-to-video);
on a server without one each is skipped, saying so."""

from __future__ import annotations

import base64
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import httpx
import pytest

from tests.browser.playground import KINDS, choose_model, models, open_playground, wait_done, wait_for_video

DROP_A_WIDE_PICTURE = """async ([width, height]) => {
    const canvas = document.createElement('canvas');
    Object.assign(canvas, {width, height});
    const g = canvas.getContext('2d');
    g.fillStyle = '#3366cc'; g.fillRect(0, 0, width, height);
    g.fillStyle = '#ffcc00'; g.fillRect(0, 0, width / 2, height / 2);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    const dropped = new DataTransfer();
    dropped.items.add(new File([blob], 'wide.png', {type: 'image/png'}));
    const zone = document.querySelector('[data-drop=start_image_url]');
    for (const type of ['dragenter', 'dragover', 'drop'])
        zone.dispatchEvent(new DragEvent(type, {dataTransfer: dropped, bubbles: true, cancelable: true}));
}"""


@pytest.fixture(scope="module")
def image_model(server) -> str:
    listed = [m for m in models(server.base) if m.endswith("/image-to-video")]
    if not listed:
        pytest.skip("the server lists no image-to-video model (kling/kling-3.0/*/image-to-video): nothing to test yet")
    return listed[0]


@pytest.fixture(params=[1280, 375], ids=lambda width: f"{width}px")
def page(request, server, page_for, image_model):
    opened = open_playground(page_for, server.base, request.param)
    opened.page.get_by_label("API key").fill(server.key)
    choose_model(opened.page, image_model)
    yield opened
    assert opened.errors == [] and opened.outside == []


def png(width: int, height: int) -> bytes:
    """A small RGB PNG, written by hand: a red-to-blue gradient."""
    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in (255 * x // width, 64, 255 - 255 * x // width))
                    for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_a_picked_start_image_is_previewed_and_makes_a_video(server, page, image_model) -> None:
    p = page.page
    picture = png(480, 320)  # the server takes a short side of 300 px or more
    p.locator("#field-start_image_url").set_input_files(files=[{"name": "start.png", "mimeType": "image/png", "buffer": picture}])
    preview = p.get_by_role("img", name="Start image preview")
    preview.wait_for()
    assert preview.get_attribute("src") == "data:image/png;base64," + base64.b64encode(picture).decode()
    assert "start.png: 480×320" in p.locator("[data-drop=start_image_url]").inner_text()
    assert p.locator("#field-aspect_ratio").count() == 0, "an image-to-video model takes the start image's shape"
    p.get_by_label("Prompt", exact=True).fill("The gradient starts to swirl")
    p.get_by_label("Duration", exact=True).fill("3")
    p.get_by_role("button", name="Generate").click()
    assert wait_for_video(p)["duration"] == pytest.approx(3, abs=0.1)
    sent = httpx.get(f"{server.base}/v1/requests", params={"limit": 1}, headers=server.auth).json()["requests"][0]
    assert sent["model_id"] == image_model and sent["input"]["start_image_url"].startswith("data:image/png;base64,")
    assert "end_image_url" not in sent["input"] or sent["input"]["end_image_url"] is None


def test_a_dropped_large_picture_is_scaled_down_to_fit(server, page) -> None:
    p = page.page
    p.evaluate(DROP_A_WIDE_PICTURE, [3000, 1500])
    preview = p.get_by_role("img", name="Start image preview")
    preview.wait_for()
    note = p.locator("[data-drop=start_image_url] .image-note").inner_text()
    assert re.search(r"wide\.png: 3000×1500 scaled to 2048×1024, sent as .* (PNG|JPEG)\.", note), note
    assert p.evaluate("() => document.querySelector('[data-drop=start_image_url] img').naturalWidth") == 2048
    # Removed, it is gone from the request.
    p.locator("[data-drop=start_image_url]").get_by_role("button", name="Remove").click()
    assert preview.is_hidden()


def test_without_a_start_image_the_error_is_beside_it_with_the_focus_on_it(server, page) -> None:
    p = page.page
    p.get_by_label("Prompt", exact=True).fill("Nothing to start from")
    p.get_by_role("button", name="Generate").click()
    said = p.locator("[data-error-for=start_image_url]").inner_text()
    assert said == "Choose a start image, or paste its URL.", said
    assert p.evaluate("() => document.activeElement.id") == "field-start_image_url"
    assert p.locator("#status .state").count() == 0, "nothing was sent"


def test_the_models_are_offered_as_kind_and_tier(server, page) -> None:
    kinds = page.page.get_by_role("group", name="Make").get_by_role("radio")
    names = {kinds.nth(i).evaluate("r => r.labels[0].textContent") for i in range(kinds.count())}
    assert names == {KINDS[m.split("/")[-1]] for m in models(server.base)}, names
    wait_done(server, None)


def test_the_copied_command_names_a_file_for_a_picked_image_and_runs(server, page, tmp_path) -> None:
    """A picked picture travels as a data URI, longer than one shell argument may be: `Copy as reelserve
    run` says to save it as a file and passes that file to --image; saved so, the command makes a video."""
    p = page.page
    picture = png(480, 320)
    p.locator("#field-start_image_url").set_input_files(files=[{"name": "start.png", "mimeType": "image/png", "buffer": picture}])
    p.get_by_role("img", name="Start image preview").wait_for()
    p.get_by_label("Prompt", exact=True).fill("The gradient starts to swirl")
    p.get_by_label("Duration", exact=True).fill("3")
    p.get_by_role("button", name="Copy as reelserve run").click()
    code = p.locator("#code").inner_text()
    assert "# --image: save the picture you chose as image.png" in code and "--image 'image.png'" in code, code
    assert "data:" not in code, "the inline picture was written into the command"
    (tmp_path / "image.png").write_bytes(picture)
    env = {**os.environ, "REELSERVE_API_KEY": server.key,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    ran = subprocess.run(["bash", "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=180, env=env)
    assert ran.returncode == 0, f"{code}\n{ran.stderr}"
    assert (tmp_path / "video.mp4").stat().st_size > 0
