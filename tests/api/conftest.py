from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from reelserve.cli.compose import api_config, storage_for, store_for
from reelserve.api import create_app
from reelserve.settings import Settings
from reelserve.store import JobStore

PRO = "kling/kling-3.0/pro/text-to-video"
STANDARD = "kling/kling-3.0/standard/text-to-video"
UHD = "kling/kling-3.0/4k/text-to-video"
PRO_I2V = "kling/kling-3.0/pro/image-to-video"
STANDARD_I2V = "kling/kling-3.0/standard/image-to-video"
UHD_I2V = "kling/kling-3.0/4k/image-to-video"


@dataclass
class Api:
    client: TestClient
    store: JobStore
    settings: Settings
    key_id: str
    headers: dict[str, str]

    def submit(self, model_id: str = STANDARD, body: dict | None = None, **kw):
        kw.setdefault("headers", self.headers)
        return self.client.post(f"/v1/models/{model_id}", json={"prompt": "a cat"} if body is None else body, **kw)


@pytest.fixture
def api(settings: Settings) -> Api:
    return make_api(settings)


@pytest.fixture(params=["sqlite", "postgres"])
def any_backend_api(request: pytest.FixtureRequest, settings: Settings) -> Api:
    """The API over each store backend, for rules that must hold the same on both."""
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("pg_url")})
    return make_api(settings)


def make_api(settings: Settings) -> Api:
    store = store_for(settings)
    key, plaintext = store.create_key("test")
    client = TestClient(create_app(api_config(settings), store, storage_for(settings)), raise_server_exceptions=False)
    return Api(client, store, settings, key.id, {"Authorization": f"Bearer {plaintext}"})
