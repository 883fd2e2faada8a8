"""GET /v1/requests/{id}/events against a key revoked while the stream is open: the stream ends,
sending nothing more (no status, no result with freshly signed links), as every other call is refused.

A real uvicorn on 127.0.0.1 in this process (TestClient buffers a whole streamed answer), no worker:
the test moves the request through the store itself.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from reelserve.api import create_app
from reelserve.api.routes import events
from reelserve.cli.compose import api_config, storage_for, store_for
from reelserve.store import JobStore
from tests.api.conftest import STANDARD
from tests.live import app_in_thread

KEY_TTL = 0.2  # the key cache's lifetime here; a revocation is seen once it has passed


@dataclasses.dataclass
class Served:
    base: str
    store: JobStore
    key_id: str
    auth: dict[str, str]

    def submit(self) -> str:
        answer = httpx.post(f"{self.base}/v1/models/{STANDARD}", json={"prompt": "a fox", "duration": 3},
                            headers=self.auth)
        assert answer.status_code == 200, answer.text
        return answer.json()["request_id"]


@pytest.fixture
def served(settings) -> Iterator[Served]:
    store = store_for(settings)
    key, plaintext = store.create_key("streams")
    config = dataclasses.replace(api_config(settings), key_cache_seconds=KEY_TTL)
    with app_in_thread(create_app(config, store, storage_for(settings))) as base:
        yield Served(base, store, key.id, {"Authorization": f"Bearer {plaintext}"})


@contextmanager
def stream(served: Served, request_id: str) -> Iterator[Iterator[tuple[str, dict]]]:
    """The stream's events as (name, body), read as they come; a stream silent for 10 s fails the test."""
    with httpx.stream("GET", f"{served.base}/v1/requests/{request_id}/events", headers=served.auth,
                      timeout=httpx.Timeout(10)) as response:
        assert response.status_code == 200, response.read()

        def events_of() -> Iterator[tuple[str, dict]]:
            name = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    yield name, json.loads(line.removeprefix("data: "))

        yield events_of()


def revoke(served: Served) -> None:
    import time

    assert served.store.revoke_key(served.key_id)
    time.sleep(KEY_TTL * 1.5)  # past the cached lookup: the stream may not be told sooner


def test_a_stream_ends_without_the_result_once_its_key_is_revoked(served: Served) -> None:
    request_id = served.submit()
    with stream(served, request_id) as events_of:
        assert next(events_of)[0] == "status"
        revoke(served)
        assert served.store.cancel(request_id, served.key_id) is not None  # ended: a result would follow
        rest = list(events_of)  # the server closes the stream; a read timeout would fail here
    assert rest == []
    assert httpx.get(f"{served.base}/v1/requests/{request_id}/result", headers=served.auth).status_code == 401


def test_a_stream_sends_no_status_once_its_key_is_revoked(served: Served) -> None:
    request_id = served.submit()
    with stream(served, request_id) as events_of:
        assert next(events_of)[1]["status"] == "in_queue"
        revoke(served)
        assert served.store.claim("w", 30).id == request_id  # in progress: a status event would follow
        rest = list(events_of)
    assert rest == []


def test_a_quiet_stream_ends_too_once_its_key_is_revoked(served: Served, monkeypatch) -> None:
    monkeypatch.setattr(events, "RESYNC_SECONDS", 0.5)  # nothing changes: only the periodic re-read wakes it
    request_id = served.submit()
    with stream(served, request_id) as events_of:
        assert next(events_of)[0] == "status"
        revoke(served)
        rest = list(events_of)
    assert rest == []


def test_with_its_key_valid_the_stream_still_ends_with_the_result(served: Served) -> None:
    request_id = served.submit()
    with stream(served, request_id) as events_of:
        assert next(events_of)[0] == "status"
        served.store.cancel(request_id, served.key_id)
        rest = list(events_of)
    assert [name for name, _ in rest] == ["result"] and rest[0][1]["status"] == "cancelled"
