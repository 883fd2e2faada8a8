"""Output links: no bearer token, signed, expiring, video/mp4, Range."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.conftest import Api


def _stored_video(api: Api, tmp_path, size: int = 5000) -> str:
    rid = api.submit().json()["request_id"]
    api.store.claim("w", 30)
    src = tmp_path / "v.mp4"
    src.write_bytes(bytes(range(256)) * (size // 256) + b"\x00" * (size % 256))
    api.client.app.state.services.storage.put(f"{rid}/video.mp4", src)
    api.store.complete(rid, "w", f"{rid}/video.mp4", {})
    return api.client.get(f"/v1/requests/{rid}/result", headers=api.headers).json()["output"]["video"]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_link_works_without_token_and_serves_mp4(api: Api, tmp_path) -> None:
    url = _stored_video(api, tmp_path)
    response = api.client.get(_path(url))  # no Authorization header
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert len(response.content) == 5000 and response.headers["accept-ranges"] == "bytes"


def test_range_request_returns_partial_content(api: Api, tmp_path) -> None:
    url = _stored_video(api, tmp_path)
    response = api.client.get(_path(url), headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "bytes 100-199/5000"
    assert response.content == (bytes(range(256)) * 20)[100:200]


def test_tampered_or_expired_links_are_refused(api: Api, tmp_path) -> None:
    url = _stored_video(api, tmp_path)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    tampered = f"{parts.path}?expires={int(query['expires'][0]) + 1}&signature={query['signature'][0]}"
    assert api.client.get(tampered).json()["error_code"] == 403001
    assert api.client.get(parts.path).status_code == 403
    signer = api.client.app.state.services.storage.signer
    key = parts.path.removeprefix("/media/")
    old = signer.sign(key, now=0)  # expired decades ago
    response = api.client.get(f"{parts.path}?expires={old['expires']}&signature={old['signature']}")
    assert response.status_code == 403 and "expired" in response.json()["error_message"]


def test_keys_cannot_escape_the_media_root(api: Api) -> None:
    signer = api.client.app.state.services.storage.signer
    for key in ["../reelserve.db", "..%2Freelserve.db/x"]:
        sig = signer.sign(key)
        response = api.client.get(f"/media/{key}?expires={sig['expires']}&signature={sig['signature']}")
        assert response.status_code in (403, 404)


@pytest.mark.parametrize("expires,signature", [
    ("%C2%B2", None), ("9" * 5000, None), ("\uff11\uff12", None), ("-1", None), ("1e9", None),
    (None, "%C3%A9" * 32), (None, "zz"), (None, "A" * 64),
])
def test_crafted_expires_or_signature_is_a_403_not_a_500(api: Api, tmp_path, expires, signature) -> None:
    url = _stored_video(api, tmp_path)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    response = api.client.get(f"{parts.path}?expires={expires or query['expires'][0]}"
                              f"&signature={signature or query['signature'][0]}")
    assert response.status_code == 403, response.text
    assert response.json()["error_code"] == 403001


# RFC 9110 14.2: a Range the server cannot parse, or in a unit it does not know, is ignored.
IGNORED_RANGES = ["bytes=abc", "bytes=5-1", "items=0-5", "bytes", "bytes=", "bytes=-", "bytes=1-2-3",
                  "bytes=0-1," + ",".join(["0-1"] * 150), "bytes=\u00b2-3", "bytes=0x10-20"]


@pytest.mark.parametrize("header", IGNORED_RANGES)
def test_an_invalid_range_is_ignored_and_the_whole_file_served(api: Api, tmp_path, header: str) -> None:
    url = _stored_video(api, tmp_path)
    response = api.client.get(_path(url), headers={"Range": header.encode("utf-8")})
    assert response.status_code == 200, response.text
    assert len(response.content) == 5000 and "content-range" not in response.headers


@pytest.mark.parametrize("header", ["bytes=5000-", "bytes=9000-9999", "bytes=-0", "bytes=6000-,7000-7001"])
def test_an_unsatisfiable_range_is_a_416_with_the_json_error_body(api: Api, tmp_path, header: str) -> None:
    url = _stored_video(api, tmp_path)
    response = api.client.get(_path(url), headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */5000"
    body = response.json()
    assert body["error_code"] == 416001 and "5000 bytes" in body["error_message"]


@pytest.mark.parametrize("header,expected", [
    ("bytes=4990-", "bytes 4990-4999/5000"), ("bytes=-10", "bytes 4990-4999/5000"),
    ("bytes=4990-99999", "bytes 4990-4999/5000"), ("BYTES = 0-0", "bytes 0-0/5000"),
    ("bytes=9000-9999, 0-1", "bytes 0-1/5000"), ("bytes=0-1,,", "bytes 0-1/5000"),
])
def test_satisfiable_ranges_are_served(api: Api, tmp_path, header: str, expected: str) -> None:
    url = _stored_video(api, tmp_path)
    response = api.client.get(_path(url), headers={"Range": header})
    assert response.status_code == 206, response.text
    assert response.headers["content-range"] == expected


def test_several_ranges_come_back_as_multipart(api: Api, tmp_path) -> None:
    url = _stored_video(api, tmp_path)
    response = api.client.get(_path(url), headers={"Range": "bytes=0-9,100-109"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges")
