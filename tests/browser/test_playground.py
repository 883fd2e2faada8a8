"""The playground (GET /) in Debian's Chromium against a real `reelserve serve` with tiny weights:
a text-to-video request from prompt to video, at a laptop's width (1280 px) and a phone's (375 px)."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from playwright.sync_api import expect

from tests.browser.playground import (PRO, STANDARD, choose_model, fill_request, in_view, keep_worker_busy,
                                      open_advanced, open_playground, wait_done, wait_for_video)


@pytest.fixture
def page(server, page_for):
    opened = open_playground(page_for, server.base)
    yield opened
    assert opened.errors == [] and opened.outside == []


@pytest.mark.parametrize("model,duration,sound,width", [(PRO, 15, True, 1280), (STANDARD, 3, False, 375)])
def test_generate_shows_live_progress_in_view_then_plays_the_video(server, page_for, model, duration, sound, width) -> None:
    opened = open_playground(page_for, server.base, width)
    page = opened.page
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    fill_request(page, server.key, model, "A lighthouse at dusk, waves crash", duration, sound)
    page.get_by_role("button", name="Generate").click()
    # The status shows where the user is looking, without scrolling back (the page scrolls on a phone).
    page.wait_for_function("() => document.querySelector('#status .state')")
    page.wait_for_function("""() => { const r = document.querySelector('#status').getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }""", timeout=5_000)
    if duration == 15:  # long enough (about 4 s) for the progress events to show the bar
        bar = page.get_by_role("progressbar")
        bar.wait_for(timeout=60_000)
        assert 0 <= int(bar.get_attribute("aria-valuenow")) <= 100
        assert in_view(page, "[role=progressbar]"), "the progress bar is off screen"
    video = wait_for_video(page)
    assert video["ready"] >= 2 and abs(video["duration"] - duration) <= 0.1
    assert video["audio"] == (1 if sound else 0)
    result = page.locator("#result")
    assert "Random weights: this video is noise" in result.inner_text()
    assert re.search(r"Size\s+\d+×\d+", result.inner_text()) and f"{duration} s" in result.inner_text()
    assert page.locator("#status .state").inner_text() == "Done"
    download = result.get_by_role("link", name="Download MP4")
    assert "/media/" in download.get_attribute("href") and download.get_attribute("download")
    # Followed through the live events, not by polling the status.
    followed = [url for url in asked if "/v1/requests/" in url]
    assert any(url.endswith("/events") for url in followed), followed
    assert not any(url.endswith("/status") for url in followed), followed
    # The seed it used can be sent again.
    seed = re.search(r"Seed\s+(\d+)", result.inner_text()).group(1)
    result.get_by_role("button", name="Use this seed").click()
    assert page.get_by_label("Seed", exact=True).input_value() == seed
    assert opened.errors == [] and opened.outside == []


def test_a_multi_shot_request_lists_its_shots(server, page) -> None:
    fill_request(page.page, server.key, STANDARD, "A harbor", 6)
    open_advanced(page.page)
    for n, text in ((1, "boats at dawn"), (2, "gulls over the water")):
        page.page.get_by_role("button", name="Add shot").click()
        page.page.get_by_label(f"Shot {n} prompt").fill(text)
        page.page.get_by_label(f"Shot {n} duration").fill("3")
    assert "Shots add up to 6 s of 6 s." in page.page.locator("#shot-sum").inner_text()
    page.page.get_by_role("button", name="Generate").click()
    wait_for_video(page.page)
    shots = page.page.locator("#result ol.shots li").all_inner_texts()
    assert shots == ["0.0 s, 3 s: boats at dawn", "3.0 s, 3 s: gulls over the water"]


def test_a_wrong_api_key_says_so_beside_the_key(page) -> None:
    fill_request(page.page, "rs_not_a_key", PRO, "A kite", 3)
    page.page.get_by_role("button", name="Generate").click()
    page.page.wait_for_function("() => document.querySelector('#form-error').textContent !== ''")
    assert "Invalid or revoked API key" in page.page.locator("#form-error").inner_text()
    beside = page.page.locator("[data-error-for=api-key]").inner_text()
    assert "Invalid or revoked API key" in beside, beside
    assert "`" not in beside and page.page.locator("[data-error-for=api-key] code").count() == 1, beside
    assert page.page.evaluate("() => document.activeElement.id") == "api-key"


def test_no_key_says_where_to_find_one(page) -> None:
    page.page.get_by_label("Prompt", exact=True).fill("A kite")
    page.page.get_by_role("button", name="Generate").click()
    said = page.page.locator("#form-error").inner_text()
    assert said.startswith("Enter an API key") and "`" not in said, said
    assert page.page.locator("#form-error code").inner_text() == "reelserve serve"
    assert page.page.evaluate("() => document.activeElement.id") == "api-key"


def test_a_queued_request_can_be_cancelled(server, page) -> None:
    busy = keep_worker_busy(server)
    fill_request(page.page, server.key, PRO, "A kite that never flies", 3)
    page.page.get_by_role("button", name="Generate").click()
    expect(page.page.locator("#status .state")).to_have_text(re.compile(r"^Queued"))
    page.page.get_by_role("button", name="Cancel").click()
    page.page.wait_for_function("() => document.querySelector('#result').textContent.includes('cancelled')", timeout=30_000)
    expect(page.page.locator("#status .state")).to_have_text("Cancelled")
    wait_done(server, busy)


def holder_of(store, request_id: str) -> str:
    """The worker holding the request's lease, claiming it as "test-worker" while it still waits: on a busy
    machine the real worker may have finished its long job and taken this one already, and failing it
    under that worker's lease is what that worker would record (its own later result is then refused)."""
    from reelserve.store import Status

    for _ in range(200):
        job = store.get(request_id)
        if job.status is Status.IN_PROGRESS:
            return job.lease_owner
        claimed = store.claim("test-worker", 30) if job.status is Status.IN_QUEUE else None
        if claimed is not None:
            assert claimed.id == request_id, f"claimed {claimed.id}, not the page's {request_id}"
            return "test-worker"
        time.sleep(0.05)
    raise AssertionError(f"the page's request {request_id} is {store.get(request_id).status}, never held")


def test_a_failed_request_shows_the_servers_message(server, page) -> None:
    """A failure as a worker records it: the page's request is claimed from the same queue and failed."""
    from reelserve.store import SqliteJobStore

    busy = keep_worker_busy(server)
    fill_request(page.page, server.key, PRO, "A kite in a storm", 3)
    page.page.get_by_role("button", name="Generate").click()
    page.page.get_by_role("button", name="Cancel").wait_for()
    sent = httpx.get(f"{server.base}/v1/requests", params={"limit": 1}, headers=server.auth).json()["requests"][0]
    store = SqliteJobStore(server.log.parent / "reelserve.db")
    try:
        store.fail(sent["request_id"], holder_of(store, sent["request_id"]), "generation_failed",
                   "The engine stopped: try a shorter prompt.", {})
    finally:
        store.close()
    page.page.wait_for_function("() => document.querySelector('#result').textContent.includes('engine stopped')",
                                timeout=30_000)
    assert "Failed (generation_failed): The engine stopped: try a shorter prompt." in page.page.locator("#result").inner_text()
    wait_done(server, busy)


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


def test_switching_the_model_keeps_what_was_typed(server, page) -> None:
    fill_request(page.page, server.key, PRO, "A kite over the dunes", 7, sound=False)
    for model in (STANDARD, PRO):
        choose_model(page.page, model)
        assert page.page.get_by_label("Prompt", exact=True).input_value() == "A kite over the dunes"
        assert page.page.get_by_label("Duration", exact=True).input_value() == "7"
        assert not page.page.get_by_label("Sound").is_checked()


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
    assert opened.page.evaluate("() => document.querySelectorAll('#form [name], #api-key[name]').length") == 0
    assert opened.errors == [] and opened.outside == []


def test_the_page_and_its_modules_load_under_the_strict_policy(api_only, page_for) -> None:
    """Scripts from this server only, as ES modules: no inline script, no eval, nothing from elsewhere."""
    base, _ = api_only
    opened = page_for(base)
    loaded: list[str] = []
    opened.page.on("response", lambda response: loaded.append(response.url))
    policy = opened.page.goto(f"{base}/").headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy, policy
    opened.page.wait_for_selector("body[data-ready=true]")
    modules = sorted(url.rsplit("/", 1)[1] for url in loaded if url.endswith(".js"))
    assert "app.js" in modules and len(modules) > 3, modules
    assert httpx.get(f"{base}/").text.count("<script") == 1
    assert opened.errors == [] and opened.outside == []
