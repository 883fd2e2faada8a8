"""The API side of reliability: Idempotency-Key, per-key limits (429 + Retry-After), expired ids, busy store (503)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from reelserve.cli.compose import api_config, storage_for, store_for
from reelserve.api import create_app
from reelserve.errors import StoreBusyError
from reelserve.worker import Janitor
from tests.api.conftest import PRO, STANDARD, Api
from tests.api.test_errors import ENDPOINTS, assert_error


def api_with(settings, **overrides) -> Api:
    settings = settings.model_copy(update=overrides)
    store = store_for(settings)
    key, plaintext = store.create_key("test")
    client = TestClient(create_app(api_config(settings), store, storage_for(settings)), raise_server_exceptions=False)
    return Api(client, store, settings, key.id, {"Authorization": f"Bearer {plaintext}"})


def second_key(api: Api) -> dict[str, str]:
    _, plaintext = api.store.create_key("other")
    return {"Authorization": f"Bearer {plaintext}"}


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_same_key_and_body_return_the_same_request(api: Api) -> None:
    headers = {**api.headers, "Idempotency-Key": "order-42"}
    first = api.client.post(f"/v1/models/{PRO}", json={"prompt": "a fox"}, headers=headers)
    # The same body, spelled differently: defaults and "5" vs 5 validate to the same input.
    again = api.client.post(f"/v1/models/{PRO}", json={"duration": "5", "prompt": "a fox"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    assert api.store.claim("w", 30) is not None and api.store.claim("w", 30) is None


def test_same_key_with_another_body_is_422002_naming_the_header(api: Api) -> None:
    headers = {**api.headers, "Idempotency-Key": "order-42"}
    rid = api.client.post(f"/v1/models/{PRO}", json={"prompt": "a fox"}, headers=headers).json()["request_id"]
    body = assert_error(api.client.post(f"/v1/models/{PRO}", json={"prompt": "a wolf"}, headers=headers), 422, 422002)
    assert body["detail"][0]["loc"] == ["header", "Idempotency-Key"] and rid in body["detail"][0]["msg"]
    assert "new key" in body["error_message"]
    # Another model is another body, too.
    assert_error(api.client.post(f"/v1/models/{STANDARD}", json={"prompt": "a fox"}, headers=headers), 422, 422002)


def test_idempotency_keys_belong_to_one_api_key(api: Api) -> None:
    body = {"prompt": "a fox"}
    mine = api.client.post(f"/v1/models/{PRO}", json=body, headers={**api.headers, "Idempotency-Key": "k"})
    theirs = api.client.post(f"/v1/models/{PRO}", json=body, headers={**second_key(api), "Idempotency-Key": "k"})
    assert theirs.status_code == 200 and theirs.json()["request_id"] != mine.json()["request_id"]


@pytest.mark.parametrize("value", ["", "has space", "x" * 256, "naïve"])
def test_malformed_idempotency_key_is_422001(api: Api, value: str) -> None:
    headers = {**api.headers, "Idempotency-Key": value.encode("utf-8")}  # raw bytes: non-ASCII reaches the server
    body = assert_error(api.client.post(f"/v1/models/{PRO}", json={"prompt": "x"}, headers=headers), 422, 422001)
    assert body["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_a_replay_is_answered_even_at_the_limit(settings) -> None:
    api = api_with(settings, max_active_per_key=1)
    headers = {**api.headers, "Idempotency-Key": "k"}
    first = api.client.post(f"/v1/models/{PRO}", json={"prompt": "x"}, headers=headers)
    again = api.client.post(f"/v1/models/{PRO}", json={"prompt": "x"}, headers=headers)
    assert again.status_code == 200 and again.json()["request_id"] == first.json()["request_id"]


# --- limits ------------------------------------------------------------------------------------


def test_429_when_too_many_are_queued_or_running(settings) -> None:
    api = api_with(settings, max_active_per_key=2, submits_per_minute=0)
    ids = [api.submit().json()["request_id"] for _ in range(2)]
    response = api.submit()
    body = assert_error(response, 429, 429001)
    assert int(response.headers["retry-after"]) >= 1 and "2 requests queued or running" in body["error_message"]
    assert api.submit(headers=second_key(api)).status_code == 200  # per key
    api.client.post(f"/v1/requests/{ids[0]}/cancel", headers=api.headers)
    assert api.submit().status_code == 200


def test_429_when_submitting_too_fast(settings) -> None:
    api = api_with(settings, max_active_per_key=0, submits_per_minute=3)
    assert [api.submit().status_code for _ in range(3)] == [200, 200, 200]
    response = api.submit()
    assert_error(response, 429, 429001)
    assert 55 <= int(response.headers["retry-after"]) <= 60
    assert "3 requests a minute" in response.json()["error_message"]


def test_limits_of_zero_mean_unlimited(settings) -> None:
    api = api_with(settings, max_active_per_key=0, submits_per_minute=0)
    assert {api.submit().status_code for _ in range(70)} == {200}


# --- retention ---------------------------------------------------------------------------------


def test_an_expired_request_says_so_to_its_owner_only(settings, tmp_path) -> None:
    api = api_with(settings, retention_seconds=1)
    rid = api.submit().json()["request_id"]
    api.store.claim("w", 30)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\x00" * 1000)
    storage = api.client.app.state.services.storage
    storage.put(f"{rid}/1-ab/video.mp4", video)
    api.store.complete(rid, "w", f"{rid}/1-ab/video.mp4", {})
    link = api.client.get(f"/v1/requests/{rid}/result", headers=api.headers).json()["output"]["video"]
    assert api.client.get(link).status_code == 200
    time.sleep(1.1)
    assert Janitor(api.store, storage, retention_seconds=1, reap_every=1).purge() == 1

    assert_error(api.client.get(link), 404, 404001)  # the signed link stopped working
    other = second_key(api)
    for method, path in ENDPOINTS:
        body = assert_error(getattr(api.client, method)(path.format(id=rid), headers=api.headers), 404, 404001)
        assert body["error_message"].startswith(f"Request {rid} expired") and "1 seconds" in body["error_message"]
        theirs = getattr(api.client, method)(path.format(id=rid), headers=other)
        unknown = getattr(api.client, method)(path.format(id="never-existed"), headers=other)
        assert (theirs.status_code, theirs.json()) == (unknown.status_code, unknown.json())


def test_a_busy_store_is_a_retryable_503(api: Api, monkeypatch) -> None:
    def busy(*args, **kwargs):
        raise StoreBusyError()

    monkeypatch.setattr(api.store, "submit_request", busy)
    response = api.submit()
    assert_error(response, 503, 503001)
    assert response.headers["retry-after"] == "1"
