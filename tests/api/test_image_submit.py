"""Image-to-video submits: each image fetched (or decoded) once at submit, checked, and stored with the request.

A real HTTP server on 127.0.0.1 serves the images (private addresses allowed for it, except where a test
checks the default rules), the app runs in-process over a real SQLite store and local media storage.
Every refusal is a 422 naming the field, and leaves nothing behind: no request, no file.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import itertools
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reelserve.api import create_app
from reelserve.catalog import MAX_DATA_URI_IMAGE_BYTES, STORED, input_model_for, recipe_for
from reelserve.cli.compose import api_config, storage_for, store_for
from reelserve.settings import Settings
from reelserve.store import SubmitLimits
from tests.api.conftest import PRO, PRO_I2V, STANDARD_I2V, UHD, UHD_I2V, Api
from tests.images.pictures import encoded
from tests.images.server import Page, serving


MIB = 1024 * 1024
PNG = encoded(640, 360)  # 16:9
JPEG = encoded(360, 640, "JPEG")  # 9:16
NOTE = re.compile(r"data:image/png;base64,\u2026 \((\d+) bytes, sha256 ([0-9a-f]{64}), stored with the request\)")


def make_image_api(settings: Settings, **config) -> Api:
    """The app as `reelserve serve` builds it, with these ApiConfig fields changed."""
    store = store_for(settings)
    key, plaintext = store.create_key("images")
    app = create_app(dataclasses.replace(api_config(settings), **config), store, storage_for(settings))
    return Api(TestClient(app, raise_server_exceptions=False), store, settings, key.id,
               {"Authorization": f"Bearer {plaintext}"})


@pytest.fixture
def api(settings: Settings) -> Api:
    return make_image_api(settings, media_allow_private=True, media_fetch_seconds=1.0)


def stored_files(api: Api) -> list[str]:
    root = api.client.app.state.services.storage.root
    return sorted(str(path.relative_to(root)) for path in Path(root).rglob("*") if path.is_file())


def requests_made(api: Api) -> list[dict]:
    return api.client.get("/v1/requests", headers=api.headers).json()["requests"]


def assert_refused(api: Api, response, field: str, code: str) -> dict:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_code"] == 422001, body
    assert [(d["loc"], d["type"]) for d in body["detail"]] == [(["body", field], code)], body["detail"]
    assert field in body["error_message"], body["error_message"]
    assert requests_made(api) == [], "a refused submit made a request"
    assert stored_files(api) == [], f"a refused submit left files: {stored_files(api)}"
    return body


def data_uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


# --- accepted ---------------------------------------------------------------------------------------------

def test_a_url_is_fetched_once_and_its_bytes_stored_with_the_request(api: Api) -> None:
    with serving({"/start.png": Page(body=PNG, headers={"Content-Type": "image/png"})}) as server:
        url = server.url("/start.png")
        response = api.submit(PRO_I2V, {"prompt": "the kite lifts off", "start_image_url": url})
        assert response.status_code == 200, response.text
        assert server.paths == ["/start.png"], f"the image was asked for {server.paths}"
    rid = response.json()["request_id"]
    job = api.store.get(rid)
    assert job.input["start_image_url"] == url and job.input["end_image_url"] is None, job.input
    assert "aspect_ratio" not in job.input, job.input
    assert stored_files(api) == [f"{rid}/start_image"], stored_files(api)
    assert api.client.app.state.services.storage.path_for(f"{rid}/start_image").read_bytes() == PNG
    # The worker's side of the contract: the stored input validates again as stored.
    again = input_model_for(recipe_for(PRO_I2V)).model_validate(job.input, context={STORED: True})
    assert again.start_image_url == url


def test_a_data_uri_is_stored_as_bytes_and_the_input_keeps_a_short_note(api: Api) -> None:
    with serving({"/end.jpg": Page(body=JPEG)}) as server:
        response = api.submit(STANDARD_I2V, {"prompt": "a boat", "start_image_url": data_uri(PNG),
                                             "end_image_url": server.url("/end.jpg")})
    assert response.status_code == 200, response.text
    rid = response.json()["request_id"]
    stored = api.store.get(rid).input
    note = NOTE.fullmatch(stored["start_image_url"])
    assert note, stored["start_image_url"]
    assert int(note[1]) == len(PNG) and note[2] == hashlib.sha256(PNG).hexdigest(), note.groups()
    assert stored["end_image_url"] == server.url("/end.jpg")
    storage = api.client.app.state.services.storage
    assert stored_files(api) == [f"{rid}/end_image", f"{rid}/start_image"], stored_files(api)
    assert storage.path_for(f"{rid}/start_image").read_bytes() == PNG
    assert storage.path_for(f"{rid}/end_image").read_bytes() == JPEG
    history = requests_made(api)[0]["input"]["start_image_url"]
    assert history == stored["start_image_url"], "history shows the note, never the megabytes"
    again = input_model_for(recipe_for(STANDARD_I2V)).model_validate(stored, context={STORED: True})
    assert again.start_image_url == stored["start_image_url"]


def test_the_largest_data_uri_fits_the_image_body_limit(api: Api) -> None:
    # A PNG padded to exactly the largest inline size: the bytes after IEND are ignored by decoders.
    largest = PNG + bytes(MAX_DATA_URI_IMAGE_BYTES - len(PNG))
    response = api.submit(PRO_I2V, {"prompt": "a", "start_image_url": data_uri(largest)})
    assert response.status_code == 200, response.text[:300]
    rid = response.json()["request_id"]
    assert api.client.app.state.services.storage.path_for(f"{rid}/start_image").stat().st_size == len(largest)
    assert len(api.store.get(rid).input["start_image_url"]) < 200


def test_an_idempotent_replay_leaves_no_extra_media(api: Api) -> None:
    headers = {**api.headers, "Idempotency-Key": "same-kite"}
    with serving({"/start.png": Page(body=PNG)}) as server:
        body = {"prompt": "a kite", "start_image_url": server.url("/start.png")}
        first = api.submit(PRO_I2V, body, headers=headers)
        again = api.submit(PRO_I2V, body, headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.headers.get("Idempotent-Replayed") == "true"
    rid = first.json()["request_id"]
    assert again.json()["request_id"] == rid
    assert stored_files(api) == [f"{rid}/start_image"], stored_files(api)
    # A different data URI under the same key is a different body: the note's digest tells them apart.
    other = api.submit(PRO_I2V, {"prompt": "a kite", "start_image_url": data_uri(encoded(640, 361))}, headers=headers)
    assert other.status_code == 422 and other.json()["error_code"] == 422002, other.text
    assert stored_files(api) == [f"{rid}/start_image"], stored_files(api)


def test_a_submit_refused_by_a_limit_deletes_the_images_it_stored(settings: Settings) -> None:
    api = make_image_api(settings, media_allow_private=True, submit_limits=SubmitLimits(max_active=1))
    first = api.submit(PRO_I2V, {"prompt": "a", "start_image_url": data_uri(PNG)})
    refused = api.submit(PRO_I2V, {"prompt": "b", "start_image_url": data_uri(PNG), "end_image_url": data_uri(PNG)})
    assert first.status_code == 200 and refused.status_code == 429, (first.text, refused.text)
    assert stored_files(api) == [f"{first.json()['request_id']}/start_image"], stored_files(api)


# --- refused: 422 naming the field, nothing stored ------------------------------------------------------

ENDLESS = Page(stream=lambda: itertools.chain([PNG], itertools.repeat(bytes(MIB))))
TRICKLE = Page(stream=lambda: (PNG[i:i + 1] for i in range(len(PNG))), every=0.05)


@pytest.mark.parametrize(("page", "code"), [
    (Page(body=encoded(640, 360, "GIF")), "image_type"),
    (Page(body=b"<html>not an image</html>", headers={"Content-Type": "image/png"}), "image_type"),
    (ENDLESS, "image_too_large"),
    (Page(body=encoded(299, 400)), "image_too_small"),
    (Page(body=encoded(1000, 300)), "image_aspect"),
    (Page(body=PNG[:200]), "image_corrupt"),
    (TRICKLE, "image_timeout"),
    (Page(404, body=b"gone"), "image_status"),
    (Page(302, {"Location": "http://[fe80::1%25lo]:80/a.png"}), "url_host"),  # refused even where private is allowed
    (Page(302, {"Location": "file:///etc/passwd"}), "url_scheme"),
], ids=["gif", "html", "over-50-mb", "too-small", "too-wide", "corrupt", "slow-sender", "404",
        "redirect-to-a-zone-address", "redirect-to-a-file"])
@pytest.mark.parametrize("field", ["start_image_url", "end_image_url"])
def test_an_image_that_cannot_be_used_is_a_422_naming_its_field(api: Api, page: Page, code: str, field: str) -> None:
    with serving({"/good.png": Page(body=PNG), "/bad": page}) as server:
        body = {"prompt": "a", "start_image_url": server.url("/good.png"), field: server.url("/bad")}
        assert_refused(api, api.submit(UHD_I2V, body), field, code)


def test_a_private_address_is_refused_by_default_before_connecting(settings: Settings) -> None:
    api = make_image_api(settings)  # the default rules
    with serving({"/a.png": Page(body=PNG)}) as server:
        body = assert_refused(api, api.submit(PRO_I2V, {"prompt": "a", "start_image_url": server.url("/a.png")}),
                              "start_image_url", "url_refused")
        assert server.paths == [], f"the server was asked for {server.paths}"
    assert "REELSERVE_MEDIA_ALLOW_PRIVATE" in body["detail"][0]["msg"], body["detail"][0]["msg"]


@pytest.mark.parametrize("value", ["ftp://127.0.0.1/a.png", "file:///etc/passwd", "a.png", "//127.0.0.1/a.png"])
def test_a_reference_that_is_not_a_url_or_data_uri_is_refused(api: Api, value: str) -> None:
    assert_refused(api, api.submit(PRO_I2V, {"prompt": "a", "start_image_url": value}), "start_image_url", "value_error")


@pytest.mark.parametrize(("value", "code"), [
    (data_uri(encoded(640, 360, "GIF"), "image/png"), "image_type"),  # the bytes decide, not the media type
    ("data:image/png;base64,not base64!", "image_data_uri"),
    ("data:text/plain;base64,aGVsbG8=", "image_data_uri"),
    (data_uri(PNG + bytes(MAX_DATA_URI_IMAGE_BYTES + 1 - len(PNG))), "image_too_large"),
])
def test_a_data_uri_that_cannot_be_used_is_a_422(api: Api, value: str, code: str) -> None:
    assert_refused(api, api.submit(PRO_I2V, {"prompt": "a", "start_image_url": value}), "start_image_url", code)


def test_a_body_over_the_image_body_limit_is_a_413(api: Api) -> None:
    limit = api.client.app.state.services.config.max_image_body_bytes
    response = api.submit(PRO_I2V, {"prompt": "a", "start_image_url": "data:image/png;base64," + "A" * limit})
    assert response.status_code == 413 and response.json()["error_code"] == 413001, response.text[:300]
    assert "by URL" in response.json()["error_message"]
    assert requests_made(api) == [] and stored_files(api) == []


def test_a_text_route_keeps_the_smaller_body_limit(api: Api) -> None:
    limit = api.client.app.state.services.config.max_body_bytes
    response = api.submit(UHD, {"prompt": "a" * limit})
    assert response.status_code == 413, response.status_code


def test_an_end_image_with_multi_prompt_is_a_422_and_nothing_is_fetched(api: Api) -> None:
    with serving({"/a.png": Page(body=PNG)}) as server:
        body = {"prompt": "a", "start_image_url": server.url("/a.png"), "end_image_url": server.url("/a.png"),
                "multi_prompt": [{"prompt": "one", "duration": 5}]}
        refused = assert_refused(api, api.submit(PRO_I2V, body), "end_image_url", "value_error")
        assert server.paths == [], server.paths
    assert "multi_prompt" in refused["detail"][0]["msg"], refused["detail"]
    del body["end_image_url"]
    with serving({"/a.png": Page(body=PNG)}) as server:
        body["start_image_url"] = server.url("/a.png")
        assert api.submit(PRO_I2V, body).status_code == 200  # a start image with shots is fine


def test_image_to_video_takes_no_aspect_ratio_and_text_to_video_no_images(api: Api) -> None:
    refused = api.submit(PRO_I2V, {"prompt": "a", "start_image_url": data_uri(PNG), "aspect_ratio": "16:9"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "aspect_ratio"], refused.text
    refused = api.submit(PRO, {"prompt": "a", "start_image_url": data_uri(PNG)})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "start_image_url"], refused.text
    assert stored_files(api) == []


# --- the catalog, as served ---------------------------------------------------------------------------

def test_every_tier_serves_both_kinds_with_its_sizes(api: Api) -> None:
    cards = {card["model_id"]: card for card in api.client.get("/v1/models").json()["models"]}
    sizes = {"standard": [(1280, 720), (720, 1280), (960, 960)], "pro": [(1920, 1080), (1080, 1920), (1440, 1440)],
             "4k": [(3840, 2160), (2160, 3840), (2880, 2880)]}
    for tier, expected in sizes.items():
        for kind in ("text-to-video", "image-to-video"):
            card = cards[f"kling/kling-3.0/{tier}/{kind}"]
            got = [(s["width"], s["height"]) for s in card["sizes"].values()]
            assert list(card["sizes"]) == ["16:9", "9:16", "1:1"] and got == expected, (tier, kind, card["sizes"])
            assert (card["tier"], card["kind"]) == (tier, kind) and kind in card["title"], card["title"]


def test_each_route_has_its_own_operation_ids_and_summary(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for model_id, name in [(PRO, "pro"), (UHD, "4k"), (PRO_I2V, "pro_image"), (STANDARD_I2V, "standard_image"),
                           (UHD_I2V, "4k_image")]:
        item = spec["paths"][f"/v1/models/{model_id}"]
        assert (item["post"]["operationId"], item["get"]["operationId"]) == (f"submit_{name}", f"get_model_{name}")
        kind = model_id.rsplit("/", 1)[1]
        assert kind in item["post"]["summary"] and kind in item["get"]["summary"], item["post"]["summary"]
        ref = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        props = spec["components"]["schemas"][ref]["properties"]
        assert ("start_image_url" in props) == (kind == "image-to-video") != ("aspect_ratio" in props), (ref, props)
