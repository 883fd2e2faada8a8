"""Take the playground screenshots the README shows: `python scripts/playground_screenshots.py BASE_URL`.

Needs a running `reelserve serve` (tiny weights are fine) and REELSERVE_API_KEY; uses Playwright
with Debian's Chromium (scripts/ensure-chromium.sh). Writes docs/playground.jpg (desktop, after
one generation) and docs/playground-375.jpg (a phone-width view of the form).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    base, key = sys.argv[1].rstrip("/"), os.environ["REELSERVE_API_KEY"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=os.environ.get("REELSERVE_TEST_CHROMIUM", "/usr/bin/chromium"))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/")
        page.wait_for_selector("body[data-ready=true]")
        page.get_by_label("API key").fill(key)
        page.get_by_label("Prompt", exact=True).fill("A lighthouse at dusk, waves crashing on the rocks below")
        page.get_by_label("Duration", exact=True).fill("5")
        page.get_by_role("button", name="Generate").click()
        page.locator("video").wait_for(timeout=120_000)
        page.wait_for_function("() => document.querySelector('video').readyState >= 2")
        page.wait_for_function("() => document.querySelectorAll('#history li img').length > 0")
        page.screenshot(path=str(DOCS / "playground.jpg"), full_page=True, type="jpeg", quality=80)
        page.set_viewport_size({"width": 375, "height": 812})
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(DOCS / "playground-375.jpg"), type="jpeg", quality=80)
        browser.close()


if __name__ == "__main__":
    main()
