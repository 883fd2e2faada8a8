from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from reelserve.api import create_app
from reelserve.settings import Settings
from reelserve.storage import open_storage
from reelserve.store import JobStore, open_store

PRO = "kling/kling-3.0/pro/text-to-video"
STANDARD = "kling/kling-3.0/standard/text-to-video"


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
    store = open_store(settings)
    key, plaintext = store.create_key("test")
    client = TestClient(create_app(settings, store, open_storage(settings)), raise_server_exceptions=False)
    return Api(client, store, settings, key.id, {"Authorization": f"Bearer {plaintext}"})
