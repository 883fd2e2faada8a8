"""The webhook parts of the HTTP API, in process: ?webhook= at submit (refusals stored nothing),
the signing secret, and the delivery log. Delivery itself: tests/delivery/."""

from __future__ import annotations

import pytest

from reelserve.store import Status
from tests.api.conftest import STANDARD, Api, make_api

RECEIVER = "https://hooks.example.com/reelserve"  # never contacted: no delivery loop runs in these tests


def jobs_of(api: Api) -> list:
    return api.store.history(api.key_id, 100).jobs


def test_a_webhook_is_kept_with_the_request_and_the_body_stays_the_models_input(api: Api) -> None:
    answer = api.submit(params={"webhook": RECEIVER, "webhook_events": "started"})
    assert answer.status_code == 200, answer.text
    job = api.store.get(answer.json()["request_id"])
    assert job.webhook.url == RECEIVER and job.webhook.events == {"started"}
    assert job.input["prompt"] == "a cat" and "webhook" not in job.input
    plain = api.store.get(api.submit(params={"webhook": RECEIVER}).json()["request_id"])
    assert plain.webhook.events == frozenset()
    assert api.store.get(api.submit().json()["request_id"]).webhook is None


@pytest.mark.parametrize("url", [
    "ftp://hooks.example.com/x", "hooks.example.com/x", "http:///nohost", "https://user:pw@hooks.example.com/",
    "https://hooks.example.com/#frag", "https://hooks.example.com:99999/", "http://[::1", "https://x.example/" + "a" * 2048,
])
def test_a_malformed_webhook_url_is_422_naming_the_parameter_and_stores_nothing(api: Api, url: str) -> None:
    answer = api.submit(params={"webhook": url})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error_code"] == 422001 and body["detail"][0]["loc"] == ["query", "webhook"]
    assert "webhook" in body["error_message"]
    assert jobs_of(api) == []


@pytest.mark.parametrize("host", [
    "127.0.0.1", "localhost", "api.localhost", "10.1.2.3", "192.168.0.1", "172.16.0.1", "100.64.0.1",
    "169.254.169.254", "0.0.0.0", "[::1]", "[::ffff:127.0.0.1]", "[fe80::1]", "2130706433", "0x7f000001",
    "0177.0.0.1", "127.1", "224.0.0.1",
])
def test_a_literal_private_address_is_refused_at_submit(api: Api, host: str) -> None:
    answer = api.submit(params={"webhook": f"http://{host}:8080/hook"})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["detail"][0]["loc"] == ["query", "webhook"] and body["detail"][0]["type"] == "url_refused"
    assert "REELSERVE_WEBHOOK_ALLOW_PRIVATE" in body["error_message"]
    assert jobs_of(api) == []


# URLs the webhook sender could never attempt: once accepted here, then retried every 30 s forever
# (and a NUL answered 500 on PostgreSQL).
UNUSABLE = ["http://0127.0.0.1/hook", "http://08.0.0.1/hook", "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/hook",
            "http://127.0.0.1../hook", "https://hooks.example.com/a\x00b", "https://hooks.example.com/a\x01b",
            "https://hoo\tks.example.com/", "https://hooks.example.com/a\nb", "http://[fe80::1%25eth0]/hook",
            "https://hooks.example.com:99999/", "http://1.2.3.4.5/hook"]


@pytest.mark.parametrize("url", UNUSABLE)
def test_a_url_the_sender_could_not_attempt_is_422_on_every_backend(any_backend_api: Api, url: str) -> None:
    answer = any_backend_api.submit(params={"webhook": url})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error_code"] == 422001 and body["detail"][0]["loc"] == ["query", "webhook"]
    assert "webhook" in body["error_message"]
    assert jobs_of(any_backend_api) == []


def test_a_url_the_sender_could_not_attempt_is_422_where_private_addresses_are_allowed(settings) -> None:
    api = make_api(settings.model_copy(update={"webhook_allow_private": True}))
    for url in UNUSABLE:
        answer = api.submit(params={"webhook": url})
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["detail"][0]["loc"] == ["query", "webhook"]
    assert jobs_of(api) == []


@pytest.mark.parametrize("host", [
    "[64:ff9b:1::a00:1]", "[64:ff9b:1::808:808]", "[fec0::1]", "[::808:808]", "[::7f00:1]", "[::ffff:0:0]",
    "[::ffff:0:808:808]", "[2002:808:808::1]", "[5f00::1]", "[3fff::1]", "[100:0:0:1::1]", "192.0.0.170",
    "192.88.99.1", "198.18.0.1", "255.255.255.255",
])
def test_addresses_outside_the_iana_registries_public_space_are_refused_at_submit(api: Api, host: str) -> None:
    answer = api.submit(params={"webhook": f"http://{host}:8080/hook"})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"][0]
    assert detail["type"] == "url_refused" and detail["loc"] == ["query", "webhook"]
    assert jobs_of(api) == []


def test_private_addresses_are_accepted_when_the_operator_allows_them(settings) -> None:
    api = make_api(settings.model_copy(update={"webhook_allow_private": True}))
    answer = api.submit(params={"webhook": "http://127.0.0.1:8080/hook"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("params", "field"), [
    ({"webhook": RECEIVER, "webhook_events": "started,finished"}, "webhook_events"),
    ({"webhook_events": "started"}, "webhook_events"),
])
def test_bad_webhook_events_are_422_naming_the_parameter(api: Api, params: dict, field: str) -> None:
    answer = api.submit(params=params)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["query", field]
    assert jobs_of(api) == []


def test_an_idempotent_replay_must_name_the_same_webhook(api: Api) -> None:
    headers = {**api.headers, "Idempotency-Key": "k-1"}
    first = api.submit(params={"webhook": RECEIVER}, headers=headers)
    again = api.submit(params={"webhook": RECEIVER}, headers=headers)
    assert again.json()["request_id"] == first.json()["request_id"]
    other = api.submit(params={"webhook": RECEIVER + "/other"}, headers=headers)
    assert other.status_code == 422 and other.json()["error_code"] == 422002


def test_the_signing_secret_is_the_keys_own_and_stable(api: Api, settings) -> None:
    first = api.client.get("/v1/webhooks/default/secret", headers=api.headers)
    assert first.status_code == 200 and first.json()["key"].startswith("whsec_")
    assert api.client.get("/v1/webhooks/default/secret", headers=api.headers).json() == first.json()
    _, other = api.store.create_key("other")
    theirs = api.client.get("/v1/webhooks/default/secret", headers={"Authorization": f"Bearer {other}"}).json()
    assert theirs["key"] != first.json()["key"]
    assert api.client.get("/v1/webhooks/default/secret").status_code == 401


def test_the_signing_secret_is_never_stored_by_a_cache(api: Api) -> None:
    answer = api.client.get("/v1/webhooks/default/secret", headers=api.headers)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"


def test_the_delivery_log_shows_events_and_attempts_to_the_owner_only(api: Api) -> None:
    request_id = api.submit(params={"webhook": RECEIVER}).json()["request_id"]
    empty = api.client.get(f"/v1/requests/{request_id}/webhooks", headers=api.headers).json()
    assert empty == {"request_id": request_id, "deliveries": [],
                     "webhook": {"url": RECEIVER, "events": ["request.completed", "request.failed", "request.cancelled"]}}
    assert api.client.post(f"/v1/requests/{request_id}/cancel", headers=api.headers).json()["status"] == "cancelled"
    [delivery] = api.client.get(f"/v1/requests/{request_id}/webhooks", headers=api.headers).json()["deliveries"]
    assert delivery["webhook_id"] == f"msg_{request_id}_cancelled" and delivery["type"] == "request.cancelled"
    assert delivery["state"] == "pending" and delivery["attempts"] == [] and delivery["next_attempt_at"].endswith("Z")
    assert api.store.get(request_id).status is Status.CANCELLED
    _, other = api.store.create_key("other")
    foreign = api.client.get(f"/v1/requests/{request_id}/webhooks", headers={"Authorization": f"Bearer {other}"})
    unknown = api.client.get("/v1/requests/00000000-0000-4000-8000-000000000000/webhooks", headers=api.headers)
    assert foreign.status_code == unknown.status_code == 404 and foreign.json() == unknown.json()
    no_hook = api.submit().json()["request_id"]
    assert api.client.get(f"/v1/requests/{no_hook}/webhooks", headers=api.headers).json()["webhook"] is None


def test_the_webhook_parameters_are_in_the_openapi_document(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    submit = spec["paths"][f"/v1/models/{STANDARD}"]["post"]
    assert {"webhook", "webhook_events"} <= {p["name"] for p in submit["parameters"]}
    assert "/v1/webhooks/default/secret" in spec["paths"] and "/v1/requests/{request_id}/events" in spec["paths"]
