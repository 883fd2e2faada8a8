"""Every row of the contract's error table, with the body shape {error_code, error_message, detail}."""

from __future__ import annotations

import pytest

from reelserve.api.deps import Services
from tests.api.conftest import PRO, STANDARD, Api

# Every route that looks up one request (api/owned.py): each answers for an id the caller lacks in the same way.
ENDPOINTS = [("get", "/v1/requests/{id}/status"), ("get", "/v1/requests/{id}/result"),
             ("post", "/v1/requests/{id}/cancel"), ("get", "/v1/requests/{id}/events"),
             ("get", "/v1/requests/{id}/webhooks")]


def assert_error(response, status: int, code: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "error_message", "detail"}
    assert body["error_code"] == code and body["error_message"]
    return body


@pytest.mark.parametrize("header", [None, "rs_nope", "Bearer", "Bearer ", "Basic abc", "Bearer rs_unknownkey"])
def test_401_for_missing_malformed_or_unknown_token(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = api.client.post(f"/v1/models/{PRO}", json={"prompt": "x"}, headers=headers)
    body = assert_error(response, 401, 401001)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "API key" in body["error_message"]


def test_401_for_revoked_key_and_before_body_checks(api: Api) -> None:
    api.store.revoke_key(api.key_id)
    assert_error(api.submit(PRO), 401, 401001)
    # Auth comes first: a bad body from an unauthenticated caller is still a 401.
    assert_error(api.client.post(f"/v1/models/{PRO}", content=b"{oops"), 401, 401001)


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_401_on_request_endpoints(api: Api, method: str, path: str) -> None:
    assert_error(getattr(api.client, method)(path.format(id="abc")), 401, 401001)


def test_404_400001_for_unknown_model(api: Api) -> None:
    body = assert_error(api.submit("kling/kling-9/pro/text-to-video"), 404, 400001)
    assert PRO in body["error_message"]  # tells the caller what does exist
    assert_error(api.client.get("/v1/models/nope"), 404, 400001)


@pytest.mark.parametrize("method,path", ENDPOINTS)
@pytest.mark.parametrize("request_id", ["0f1e2d3c-unknown", "bad id!", "x" * 129])
def test_404_404001_for_unknown_request(api: Api, method: str, path: str, request_id: str) -> None:
    assert_error(getattr(api.client, method)(path.format(id=request_id), headers=api.headers), 404, 404001)


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_another_keys_request_is_indistinguishable_from_unknown(api: Api, method: str, path: str) -> None:
    rid = api.submit().json()["request_id"]
    _, other = api.store.create_key("other")
    other_headers = {"Authorization": f"Bearer {other}"}
    theirs = getattr(api.client, method)(path.format(id=rid), headers=other_headers)
    unknown = getattr(api.client, method)(path.format(id="00000000-0000-0000-0000-000000000000"), headers=other_headers)
    assert (theirs.status_code, theirs.json()) == (unknown.status_code, unknown.json())
    assert api.store.get(rid).status.value == "in_queue"  # and the other key's cancel changed nothing


@pytest.mark.parametrize("raw,expected_type", [(b"{not json", "json_invalid"), (b"", "json_invalid"),
                                               (b"[1, 2]", "model_type"), (b'"text"', "model_type"),
                                               (b"null", "model_type"), (b'{"prompt": NaN}', "json_invalid")])
def test_422001_for_body_that_is_not_a_json_object(api: Api, raw: bytes, expected_type: str) -> None:
    response = api.client.post(f"/v1/models/{STANDARD}", content=raw, headers=api.headers)
    body = assert_error(response, 422, 422001)
    assert body["detail"][0]["type"] == expected_type and body["detail"][0]["loc"] == ["body"]


def test_422001_lists_every_failing_field(api: Api) -> None:
    response = api.submit(PRO, {"prompt": "", "duration": 99, "aspectRatio": "1:1"})
    body = assert_error(response, 422, 422001)
    locs = {tuple(d["loc"]) for d in body["detail"]}
    assert locs == {("body", "prompt"), ("body", "duration"), ("body", "aspectRatio")}
    assert "aspectRatio" in body["error_message"] and "aspect_ratio" in body["error_message"]


def test_413001_with_content_length(api: Api) -> None:
    big = b'{"prompt": "' + b"x" * (api.settings.max_body_bytes + 10) + b'"}'
    assert_error(api.client.post(f"/v1/models/{PRO}", content=big, headers=api.headers), 413, 413001)


def test_413001_for_chunked_body_without_length(api: Api) -> None:
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    response = api.client.post(f"/v1/models/{PRO}", content=chunks(), headers=api.headers)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, 413001)


def test_500001_hides_the_internal_fault(api: Api) -> None:
    services: Services = api.client.app.state.services

    class Broken(type(services.store)):
        def get(self, *args, **kwargs):
            raise RuntimeError("secret internal detail /etc/passwd")

        get_with_position = get  # what a status poll reads

    services.store.__class__ = Broken
    response = api.client.get("/v1/requests/abc/status", headers=api.headers)
    body = assert_error(response, 500, 500001)
    assert "secret" not in response.text and "Traceback" not in response.text
    assert body["detail"] == []


def test_unknown_route_keeps_the_error_shape(api: Api) -> None:
    assert_error(api.client.get("/v2/nothing"), 404, 404000)
