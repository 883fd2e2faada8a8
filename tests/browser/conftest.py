"""A real browser for the tests: Debian's Chromium (scripts/ensure-chromium.sh), driven by Playwright.

Network rule: the browser reaches nothing but loopback. Chromium resolves no other host name
(--host-resolver-rules), and every request to another origin is aborted before it is sent and
recorded, so a test can assert a page asked for nothing outside.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("REELSERVE_TEST_CHROMIUM", "/usr/bin/chromium")
LOOPBACK_ONLY = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread while
# it is started, and the asyncio tests that run after these (asyncio.run) need none to be running.
@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs it (scripts/ensure-chromium.sh)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", f"--host-resolver-rules={LOOPBACK_ONLY}"])
        yield browser
        browser.close()


class Page:
    """A page that records console errors and the requests it tried to send elsewhere (all aborted)."""

    def __init__(self, browser, base: str) -> None:
        self.page = browser.new_page()
        self.base = base
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.route("**/*", self._only_loopback)

    def _only_loopback(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def page_for(browser) -> Iterator:
    pages: list[Page] = []

    def open_page(base: str) -> Page:
        pages.append(Page(browser, base))
        return pages[-1]

    yield open_page
    for page in pages:
        page.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory, tiny_cache):
    """`reelserve serve` with tiny weights, shared by the playground's test modules."""
    from tests.live import live_server

    # No per-key limits: these modules submit a few dozen requests a minute with one key.
    with live_server(tmp_path_factory.mktemp("playground"), tiny_cache, max_active_per_key="0",
                     submits_per_minute="0") as live:
        yield live
