"""/docs and /redoc in a real browser, as on a machine with no internet: both render every
operation from this server's /openapi.json, and Swagger UI's "Authorize" sends the key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reelserve.api import create_app
from reelserve.cli.compose import api_config, storage_for, store_for
from reelserve.settings import Settings
from tests.live import app_in_thread


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, str, int]]:
    """The API (no worker) on a loopback port, in this process: (base URL, an API key, operation count)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("docs"), signing_secret="docs")
    store = store_for(settings)
    _, key = store.create_key("docs")
    app = create_app(api_config(settings), store, storage_for(settings))
    operations = sum(len(item) for item in app.openapi()["paths"].values())
    with app_in_thread(app) as base:
        yield base, key, operations


def test_swagger_ui_renders_every_operation_offline_and_authorizes(served, page_for) -> None:
    base, key, operations = served
    page = page_for(base)
    page.page.goto(f"{base}/docs")
    page.page.wait_for_selector(".opblock")
    assert page.page.locator(".opblock").count() == operations
    assert "Unable to render" not in page.page.inner_text("body")

    # "Authorize" with the key, then "Try it out" on GET /v1/health: the browser sends the bearer key.
    page.page.click("button.authorize")
    page.page.fill(".auth-container input", key)
    page.page.click(".auth-btn-wrapper button.authorize")
    page.page.click("button.btn-done")
    health = page.page.locator(".opblock", has_text="/v1/health")
    health.locator(".opblock-summary").click()
    health.locator("button.try-out__btn").click()
    with page.page.expect_response(f"{base}/v1/health") as answered:
        health.locator("button.execute").click()
    assert answered.value.status == 200 and answered.value.json()["status"] == "ok"
    assert page.errors == [] and page.outside == []


def test_redoc_renders_every_operation_offline(served, page_for) -> None:
    base, _, operations = served
    page = page_for(base)
    page.page.goto(f"{base}/redoc")
    page.page.wait_for_selector("[data-section-id^='operation']")
    assert page.page.locator("h1").first.inner_text().startswith("reelserve")
    assert page.page.locator("[data-section-id^='operation/']").count() == operations
    assert page.errors == []
    # ReDoc's footer asks for Redocly's logo from its CDN; the page's policy would block it, and here
    # it never leaves the browser. Nothing else is asked of anywhere but this server.
    assert all(url.startswith("https://cdn.redoc.ly/") for url in page.outside)
