"""Output links: no bearer token, signed, expiring, video/mp4, Range."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

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
