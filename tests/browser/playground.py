"""What the playground tests do on the page, by its labels, as a person, a screen reader or the keyboard would."""

from __future__ import annotations

import time

import httpx

PRO = "kling/kling-3.0/pro/text-to-video"
STANDARD = "kling/kling-3.0/standard/text-to-video"
KINDS = {"text-to-video": "Text to video", "image-to-video": "Image to video"}
TIERS = {"standard": "Standard", "pro": "Pro", "4k": "4K"}
HEIGHTS = {1280: 720, 375: 812}  # a laptop's browser window, a phone's
STATUS_WORDS = {"Queued", "Generating", "Done", "Failed", "Cancelled"}
RAW_STATUSES = ("in_queue", "in_progress", "completed", "failed", "cancelled")


def open_playground(page_for, base: str, width: int = 1280):
    opened = page_for(base)
    opened.page.set_viewport_size({"width": width, "height": HEIGHTS[width]})
    opened.page.goto(f"{base}/")
    opened.page.wait_for_selector("body[data-ready=true]")
    return opened


def choose_model(page, model_id: str) -> None:
    """Pick a model as the page asks: what to make, then the quality, in plain words."""
    tier, kind = model_id.split("/")[-2:]
    page.get_by_role("group", name="Make").get_by_role("radio", name=KINDS[kind], exact=True).check()
    page.get_by_role("group", name="Quality").get_by_role("radio", name=TIERS[tier], exact=True).check()
    shown = page.locator("#model-id").inner_text()
    assert shown == model_id, f"chose {KINDS[kind]} / {TIERS[tier]}, the page shows {shown}"


def fill_request(page, key: str, model: str, prompt: str, duration: int, sound: bool = True) -> None:
    page.get_by_label("API key").fill(key)
    choose_model(page, model)
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.get_by_label("Duration", exact=True).fill(str(duration))
    page.get_by_label("Sound").set_checked(sound)


def open_advanced(page) -> None:
    if not page.locator("#advanced").evaluate("d => d.open"):
        page.get_by_text("Advanced settings").click()


def wait_for_video(page) -> dict:
    # A failure ends the wait at once, saying what the page said, rather than after the timeout.
    page.locator("video, #result [role=alert]").first.wait_for(timeout=120_000)
    failed = page.locator("#result [role=alert]")
    assert failed.count() == 0, f"no video: the page says {failed.inner_text()!r}"
    page.wait_for_function("() => document.querySelector('video').readyState >= 2", timeout=30_000)
    return page.evaluate("""() => { const v = document.querySelector('video');
        return {ready: v.readyState, duration: v.duration, audio: v.captureStream().getAudioTracks().length}; }""")


def in_view(page, selector: str) -> bool:
    """Whether the element's top is on screen now, with no scrolling."""
    return page.evaluate("""(s) => { const r = document.querySelector(s).getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.top < window.innerHeight; }""", selector)


def duplicate_ids(page) -> list[str]:
    return page.evaluate("""() => { const ids = [...document.querySelectorAll('[id]')].map((n) => n.id);
        return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))]; }""")


def models(base: str) -> list[str]:
    return [m["model_id"] for m in httpx.get(f"{base}/v1/models").json()["models"]]


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


def keep_worker_busy(server, seconds: int = 15) -> str:
    """Submit a long request and wait until the worker holds it: what the page submits next waits in line."""
    busy = httpx.post(f"{server.base}/v1/models/{PRO}", json={"prompt": "keeps the worker busy", "duration": seconds},
                      headers=server.auth).json()
    while httpx.get(busy["status_url"], headers=server.auth).json()["status"] == "in_queue":
        time.sleep(0.05)
    return busy["request_id"]
