"""The playground (GET /) in Debian's Chromium against a real `reelserve serve` with tiny weights:
what a person does on it, by its labels, as a screen reader or the keyboard would find them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.live import live_server

PRO = "kling/kling-3.0/pro/text-to-video"
STANDARD = "kling/kling-3.0/standard/text-to-video"


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_cache):
    # No per-key limits: this module submits a few dozen requests a minute with one key.
    with live_server(tmp_path_factory.mktemp("playground"), tiny_cache, max_active_per_key="0",
                     submits_per_minute="0") as live:
        yield live


@pytest.fixture
def page(server, page_for):
    opened = page_for(server.base)
    opened.page.goto(f"{server.base}/")
    opened.page.wait_for_selector("body[data-ready=true]")
    yield opened
    assert opened.errors == [] and opened.outside == []


def fill_request(page, key: str, model: str, prompt: str, duration: int, sound: bool = True) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_label("Model").select_option(model)
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.get_by_label("Duration", exact=True).fill(str(duration))
    page.get_by_label("Sound").set_checked(sound)


def wait_for_video(page) -> dict:
    page.locator("video").wait_for(timeout=120_000)
    page.wait_for_function("() => document.querySelector('video').readyState >= 2", timeout=30_000)
    return page.evaluate("""() => { const v = document.querySelector('video');
        return {ready: v.readyState, duration: v.duration, audio: v.captureStream().getAudioTracks().length}; }""")


@pytest.mark.parametrize("model,duration,sound", [(PRO, 15, True), (STANDARD, 3, False)])
def test_generate_shows_progress_then_plays_the_video(server, page, model, duration, sound) -> None:
    fill_request(page.page, server.key, model, "A lighthouse at dusk, waves crash", duration, sound)
    page.page.get_by_role("button", name="Generate").click()
    if duration == 15:  # long enough (about 4 s) for the 0.4 s polls to show the bar
        bar = page.page.get_by_role("progressbar")
        bar.wait_for(timeout=60_000)
        assert 0 <= int(bar.get_attribute("aria-valuenow")) <= 100
    video = wait_for_video(page.page)
    assert video["ready"] >= 2 and abs(video["duration"] - duration) <= 0.1
    assert video["audio"] == (1 if sound else 0)
    result = page.page.locator("#result")
    assert "Random weights: this video is noise" in result.inner_text()
    assert re.search(r"Size\s+\d+×\d+", result.inner_text()) and f"{duration} s" in result.inner_text()
    download = result.get_by_role("link", name="Download MP4")
    assert "/media/" in download.get_attribute("href") and download.get_attribute("download")


def test_a_multi_shot_request_lists_its_shots(server, page) -> None:
    fill_request(page.page, server.key, STANDARD, "A harbor", 6)
    for n, text in ((1, "boats at dawn"), (2, "gulls over the water")):
        page.page.get_by_role("button", name="Add shot").click()
        page.page.get_by_label(f"Shot {n} prompt").fill(text)
        page.page.get_by_label(f"Shot {n} duration").fill("3")
    assert "Shots add up to 6 s of 6 s." in page.page.locator("#shot-sum").inner_text()
    page.page.get_by_role("button", name="Generate").click()
    wait_for_video(page.page)
    shots = page.page.locator("#result ol.shots li").all_inner_texts()
    assert shots == ["0.0 s, 3 s: boats at dawn", "3.0 s, 3 s: gulls over the water"]


def test_a_422_is_shown_beside_its_field(server, page) -> None:
    fill_request(page.page, server.key, PRO, "\u200b\u200b", 3)
    page.page.get_by_role("button", name="Generate").click()
    beside = page.page.locator("[data-error-for=prompt]")
    beside.wait_for()
    assert "no visible characters" in beside.inner_text()
    assert page.page.get_by_label("Prompt", exact=True).get_attribute("aria-invalid") == "true"
    # The shot editor shows the sum against Duration, and the server's message lands beside it too.
    page.page.get_by_label("Prompt", exact=True).fill("A kite")
    page.page.get_by_role("button", name="Add shot").click()
    page.page.get_by_label("Shot 1 prompt").fill("red kite")
    page.page.get_by_label("Shot 1 duration").fill("4")
    assert "Shots add up to 4 s of 3 s: make them equal" in page.page.locator("#shot-sum").inner_text()
    page.page.get_by_role("button", name="Generate").click()
    page.page.wait_for_function("() => document.querySelector('[data-error-for=multi_prompt]').textContent !== ''")
    assert "add up to 4 s but duration is 3 s" in page.page.locator("[data-error-for=multi_prompt]").inner_text()


def test_a_wrong_api_key_says_so(page) -> None:
    fill_request(page.page, "rs_not_a_key", PRO, "A kite", 3)
    page.page.get_by_role("button", name="Generate").click()
    page.page.wait_for_function("() => document.querySelector('#form-error').textContent !== ''")
    assert "Invalid or revoked API key" in page.page.locator("#form-error").inner_text()


def test_a_queued_request_can_be_cancelled(server, page) -> None:
    busy = httpx.post(f"{server.base}/v1/models/{PRO}", json={"prompt": "keeps the worker busy", "duration": 15},
                      headers=server.auth).json()
    fill_request(page.page, server.key, PRO, "A kite that never flies", 3)
    page.page.get_by_role("button", name="Generate").click()
    page.page.get_by_role("button", name="Cancel").click()
    page.page.wait_for_function("() => document.querySelector('#result').textContent.includes('cancelled')", timeout=30_000)
    wait_done(server, busy["request_id"])


def test_history_pages_through_the_keys_requests(server, page) -> None:
    for n in range(7):  # more than one page of six
        submitted = httpx.post(f"{server.base}/v1/models/{STANDARD}", json={"prompt": f"history {n}", "duration": 3},
                               headers=server.auth)
        assert submitted.status_code == 200, submitted.text
    page.page.get_by_label("API key").fill(server.key)
    page.page.get_by_label("API key").dispatch_event("change")
    items = page.page.locator("#history li")
    page.page.wait_for_function("() => document.querySelectorAll('#history li button').length === 6")
    assert items.first.inner_text().startswith("history 6")  # newest first
    page.page.get_by_role("button", name="Older").click()
    page.page.wait_for_function("() => !document.querySelector('#history').textContent.includes('history 6')")
    assert "history 0" in page.page.locator("#history").inner_text()
    page.page.get_by_role("button", name="Newer").click()
    page.page.wait_for_function("() => document.querySelector('#history').textContent.includes('history 6')")
    assert page.page.get_by_role("button", name="Newer").is_disabled()  # back on the first page
    # Clicking a finished one shows its video.
    wait_done(server, None)
    page.page.locator("#history li button").first.click()
    wait_for_video(page.page)


def test_copy_as_curl_runs_in_a_shell_and_makes_a_request(server, page, tmp_path) -> None:
    fill_request(page.page, server.key, STANDARD, "It's a copied request", 3, sound=False)
    page.page.get_by_role("button", name="Copy as curl").click()
    command = page.page.locator("#code").inner_text()
    assert server.key not in command  # the key stays in the environment
    ran = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                         env={**os.environ, "REELSERVE_API_KEY": server.key})
    assert ran.returncode == 0, ran.stderr
    request_id = httpx.Response(200, content=ran.stdout).json()["request_id"]
    done = wait_done(server, request_id)
    assert done["status"] == "completed" and done["metadata"]["has_audio"] is False
    # The Python and CLI versions run as they are too (in the venv, with the key exported), each
    # saving the video it made.
    env = {**os.environ, "REELSERVE_API_KEY": server.key,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for kind, runner in (("Copy as Python", [sys.executable, "-c"]), ("Copy as reelserve run", ["bash", "-c"])):
        page.page.get_by_role("button", name=kind).click()
        code = page.page.locator("#code").inner_text()
        assert server.key not in code
        ran = subprocess.run([*runner, code], capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
        assert ran.returncode == 0, f"{code}\n{ran.stderr}"
        assert (tmp_path / "video.mp4").stat().st_size > 0
        (tmp_path / "video.mp4").unlink()


def test_keyboard_alone_can_generate(server, page) -> None:
    def tab_to(element_id: str) -> None:
        for _ in range(40):
            page.page.keyboard.press("Tab")
            if page.page.evaluate("() => document.activeElement.id") == element_id:
                return
        raise AssertionError(f"Tab never reached #{element_id}")

    tab_to("api-key")
    page.page.keyboard.type(server.key)
    tab_to("field-prompt")
    page.page.keyboard.type("Typed without a mouse")
    tab_to("field-duration")
    page.page.keyboard.press("Control+A")
    page.page.keyboard.type("3")
    tab_to("generate")
    page.page.keyboard.press("Enter")
    assert wait_for_video(page.page)["duration"] == pytest.approx(3, abs=0.1)


def test_the_key_stays_in_the_tab_unless_remembered_and_never_in_the_url(server, page) -> None:
    page.page.get_by_label("API key").fill(server.key)
    page.page.get_by_label("API key").dispatch_event("change")
    stored = page.page.evaluate("() => [sessionStorage.getItem('reelserve.apiKey'), localStorage.getItem('reelserve.apiKey')]")
    assert stored == [server.key, None]
    page.page.get_by_label("Remember on this device").check()
    stored = page.page.evaluate("() => [sessionStorage.getItem('reelserve.apiKey'), localStorage.getItem('reelserve.apiKey')]")
    assert stored == [None, server.key]
    assert server.key not in page.page.url


def test_readable_at_375_pixels(server, page) -> None:
    page.page.set_viewport_size({"width": 375, "height": 800})
    assert page.page.evaluate("() => document.documentElement.scrollWidth") <= 375
    box = page.page.get_by_role("button", name="Generate").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375


def wait_done(server, request_id: str | None) -> dict:
    """Wait until `request_id` (or, with None, every request of the key) has finished."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if request_id is None:
            page = httpx.get(f"{server.base}/v1/requests", params={"limit": 100}, headers=server.auth).json()
            if all(r["status"] not in ("in_queue", "in_progress") for r in page["requests"]):
                return page
        else:
            result = httpx.get(f"{server.base}/v1/requests/{request_id}/result", headers=server.auth).json()
            if result["status"] not in ("in_queue", "in_progress"):
                return result
        time.sleep(0.1)
    raise AssertionError("the requests never finished")


def test_a_failed_request_shows_the_servers_message(server, page) -> None:
    """A failure as a worker records it: the page's request is claimed from the same queue and failed."""
    from reelserve.store import SqliteJobStore

    busy = httpx.post(f"{server.base}/v1/models/{PRO}", json={"prompt": "keeps the worker busy", "duration": 15},
                      headers=server.auth).json()
    while httpx.get(busy["status_url"], headers=server.auth).json()["status"] == "in_queue":
        time.sleep(0.05)
    fill_request(page.page, server.key, PRO, "A kite in a storm", 3)
    page.page.get_by_role("button", name="Generate").click()
    page.page.get_by_role("button", name="Cancel").wait_for()
    store = SqliteJobStore(server.log.parent / "reelserve.db")
    try:
        job = store.claim("test-worker", 30)
        store.fail(job.id, "test-worker", "generation_failed", "The engine stopped: try a shorter prompt.", {})
    finally:
        store.close()
    page.page.wait_for_function("() => document.querySelector('#result').textContent.includes('engine stopped')",
                                timeout=30_000)
    assert "Failed (generation_failed): The engine stopped: try a shorter prompt." in page.page.locator("#result").inner_text()
    wait_done(server, busy["request_id"])


# --- the API key never reaches a URL, whatever GET /v1/models does -----------------------------

@pytest.fixture(scope="module")
def api_only(tmp_path_factory):
    """The API alone (no worker) on a loopback port in this process: enough for the page's own behaviour."""
    from reelserve.api import create_app
    from reelserve.cli.compose import api_config, storage_for, store_for
    from reelserve.settings import Settings
    from tests.live import app_in_thread

    settings = Settings(data_dir=tmp_path_factory.mktemp("playground-api"), signing_secret="page")
    store = store_for(settings)
    _, key = store.create_key("page")
    with app_in_thread(create_app(api_config(settings), store, storage_for(settings))) as base:
        yield base, key


@pytest.mark.parametrize("models", ["slow", "failing", "unreachable"])
def test_enter_in_the_key_field_never_puts_the_key_in_the_url(api_only, page_for, models: str) -> None:
    base, key = api_only
    opened = page_for(base)
    held: list = []  # "slow": answered only once the test has looked

    def answer(route) -> None:
        if models == "slow":
            held.append(route)
        elif models == "failing":
            route.fulfill(status=503, content_type="application/json",
                          body='{"error_code": 503001, "error_message": "busy", "detail": null}')
        else:
            route.abort()

    opened.page.route(f"{base}/v1/models", answer)
    opened.page.goto(f"{base}/")
    key_field = opened.page.get_by_label("API key")
    opened.page.evaluate("() => { window.samePage = true; }")  # a navigation would forget it
    key_field.fill(key)
    key_field.press("Enter")
    opened.page.wait_for_timeout(500)  # a native submit navigates within this
    assert "api-key" not in opened.page.url and key not in opened.page.url and "?" not in opened.page.url
    assert opened.page.evaluate("() => window.samePage === true")
    assert opened.page.locator("#form-error").inner_text()  # says why nothing was sent
    assert key_field.get_attribute("name") is None  # a form would never send it, even if it were submitted
    for route in held:
        route.continue_()
    if models == "slow":  # once the models arrive, the page works as ever
        opened.page.wait_for_selector("body[data-ready=true]")
        assert opened.page.get_by_label("Prompt", exact=True).is_visible()
    assert opened.errors == [] and opened.outside == []


def test_the_playground_sends_no_referrer_and_names_no_field(api_only, page_for) -> None:
    base, _ = api_only
    opened = page_for(base)
    answer = opened.page.goto(f"{base}/")
    assert answer.headers["referrer-policy"] == "no-referrer"
    opened.page.wait_for_selector("body[data-ready=true]")
    assert opened.page.evaluate("() => document.querySelectorAll('#form [name]').length") == 0
    assert opened.errors == [] and opened.outside == []
