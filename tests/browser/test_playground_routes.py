"""Every model id the server lists, from the playground to a playing video (1280 px), against a real
`reelserve serve` with tiny weights: the six Kling 3.0 routes, chosen as kind and quality in plain words,
image-to-video with a picked start image, and the request the page sent checked on the server."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.playground import choose_model, models, open_playground, wait_for_video
from tests.browser.test_playground_images import png

SIX = [f"kling/kling-3.0/{tier}/{kind}" for kind in ("text-to-video", "image-to-video")
       for tier in ("standard", "pro", "4k")]


def test_the_server_lists_the_six_routes(server) -> None:
    assert sorted(models(server.base)) == sorted(SIX)


@pytest.mark.parametrize("model_id", SIX)
def test_each_route_makes_a_video_from_the_page(server, page_for, model_id) -> None:
    opened = open_playground(page_for, server.base, 1280)
    page = opened.page
    page.get_by_label("API key").fill(server.key)
    choose_model(page, model_id)
    if model_id.endswith("image-to-video"):
        picture = png(360, 640)  # portrait: the video takes 9:16
        page.locator("#field-start_image_url").set_input_files(
            files=[{"name": "still.png", "mimeType": "image/png", "buffer": picture}])
        page.get_by_role("img", name="Start image preview").wait_for()
    page.get_by_label("Prompt", exact=True).fill("A paper boat drifts down a rainy street")
    page.get_by_label("Duration", exact=True).fill("3")
    page.get_by_role("button", name="Generate").click()
    video = wait_for_video(page)
    assert abs(video["duration"] - 3) <= 0.1, video
    sent = httpx.get(f"{server.base}/v1/requests", params={"limit": 1}, headers=server.auth).json()["requests"][0]
    assert sent["model_id"] == model_id and sent["status"] == "completed", sent
    if model_id.endswith("image-to-video"):
        result = httpx.get(f"{server.base}/v1/requests/{sent['request_id']}/result", headers=server.auth).json()
        assert result["metadata"]["input_images"]["aspect_ratio"] == "9:16", result["metadata"]
    assert opened.errors == [] and opened.outside == []
