"""The SDK's input images: `image_input` (a URL as is, a local file as a data URI judged by its bytes, refused
before any request when it cannot be sent), and image fields given as a Path to `submit` / `run`, on both clients."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from reelserve.client import ImageInputError, ReelserveClientError, image_input
from reelserve.client._images import MAX_DATA_URI_IMAGE_BYTES
from tests.client import test_client
from tests.client.test_client import RID, SUBMITTED, Server
from tests.images.pictures import encoded

connect = test_client.connect  # the fixture that runs a test on both Client and AsyncClient

I2V = "kling/kling-3.0/pro/image-to-video"
SUBMIT_I2V = f"/v1/models/{I2V}"


def decoded(uri: str) -> tuple[str, bytes]:
    """(media type, bytes) of a strict base64 data URI."""
    head, _, data = uri.partition(",")
    assert head.startswith("data:") and head.endswith(";base64"), head
    return head.removeprefix("data:").removesuffix(";base64"), base64.b64decode(data, validate=True)


def test_the_sdk_states_the_servers_data_uri_limit() -> None:
    from reelserve.catalog import MAX_DATA_URI_IMAGE_BYTES as servers

    assert MAX_DATA_URI_IMAGE_BYTES == servers, (MAX_DATA_URI_IMAGE_BYTES, servers)


@pytest.mark.parametrize("url", ["https://images.example.com/first.png", "http://10.0.0.5:8080/a.jpg?x=1",
                                 "HTTPS://IMAGES.EXAMPLE.COM/A.WEBP", "data:image/png;base64,iVBORw0KGgo="])
def test_a_url_or_a_data_uri_passes_through_unchanged(url) -> None:
    assert image_input(url) == url


@pytest.mark.parametrize("fmt,media_type", [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_a_local_file_becomes_a_data_uri_of_its_bytes_typed_by_its_bytes(tmp_path, fmt, media_type) -> None:
    data = encoded(640, 360, fmt)
    path = tmp_path / "frame.gif"  # a misleading name: the bytes decide
    path.write_bytes(data)
    for given in (path, str(path)):
        assert decoded(image_input(given)) == (media_type, data), given


@pytest.mark.parametrize("data,seen", [
    (b"GIF89a" + b"\x00" * 64, "GIF89a"),
    (b"<html><body>not an image</body></html>", "<html>"),
    (b"", "b''"),
], ids=["gif", "html", "empty"])
def test_a_file_that_is_not_jpeg_png_or_webp_is_refused_by_its_bytes(tmp_path, data, seen) -> None:
    path = tmp_path / "frame.png"  # the name says PNG; the bytes do not
    path.write_bytes(data)
    with pytest.raises(ImageInputError) as raised:
        image_input(path)
    message = str(raised.value)
    assert "not a JPEG, PNG or WebP" in message and str(path) in message and seen in message, message


def test_a_file_over_the_limit_is_refused_before_it_is_read_naming_the_limit_and_a_url(tmp_path) -> None:
    path = tmp_path / "huge.png"
    with open(path, "wb") as out:  # a PNG's signature, then a hole: sparse, so nothing is written to disk
        out.write(b"\x89PNG\r\n\x1a\n")
        out.truncate(MAX_DATA_URI_IMAGE_BYTES + 1)
    with pytest.raises(ImageInputError) as raised:
        image_input(path)
    message = str(raised.value)
    assert str(MAX_DATA_URI_IMAGE_BYTES) in message and "15 MiB" in message and "URL" in message, message
    assert str(MAX_DATA_URI_IMAGE_BYTES + 1) in message, message


def test_a_file_of_exactly_the_limit_goes(tmp_path) -> None:
    path = tmp_path / "largest.png"
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_DATA_URI_IMAGE_BYTES - 8)
    path.write_bytes(data)
    assert decoded(image_input(path)) == ("image/png", data)


def test_a_missing_file_is_named(tmp_path) -> None:
    with pytest.raises(ImageInputError) as raised:
        image_input(tmp_path / "nowhere.png")
    assert "nowhere.png" in str(raised.value) and "No such file" in str(raised.value), str(raised.value)
    assert isinstance(raised.value, ReelserveClientError) and isinstance(raised.value, ValueError)


def test_image_fields_given_as_paths_are_sent_as_data_uris(connect, tmp_path) -> None:
    start, end = tmp_path / "start.jpg", tmp_path / "end.webp"
    start.write_bytes(encoded(640, 360, "JPEG"))
    end.write_bytes(encoded(640, 360, "WEBP"))
    server = Server().on("POST", SUBMIT_I2V, SUBMITTED)
    body = {"prompt": "a kite lifts off", "start_image_url": start, "end_image_url": end, "duration": 5}
    assert connect(server).submit(I2V, body).request_id == RID
    sent = json.loads(server.seen[0].content)
    assert list(sent) == list(body), sent.keys()  # the body's order and fields, only the images converted
    assert decoded(sent["start_image_url"]) == ("image/jpeg", start.read_bytes())
    assert decoded(sent["end_image_url"]) == ("image/webp", end.read_bytes())
    assert (sent["prompt"], sent["duration"]) == ("a kite lifts off", 5)
    assert isinstance(body["start_image_url"], Path), "the caller's dict was changed"


def test_a_str_in_an_image_field_is_sent_as_written(connect, tmp_path) -> None:
    """A str may be a URL (or a server's own value): only a Path says "this is a file of mine"."""
    server = Server().on("POST", SUBMIT_I2V, SUBMITTED)
    body = {"prompt": "a kite", "start_image_url": "https://images.example.com/kite.png", "end_image_url": "frame.png"}
    connect(server).submit(I2V, body)
    assert json.loads(server.seen[0].content) == body


def test_a_path_that_cannot_be_sent_sends_nothing(connect, tmp_path) -> None:
    path = tmp_path / "anim.gif"
    path.write_bytes(b"GIF89a" + b"\x00" * 64)
    server = Server().on("POST", SUBMIT_I2V, SUBMITTED)
    client = connect(server)
    with pytest.raises(ImageInputError, match="not a JPEG, PNG or WebP"):
        client.submit(I2V, {"prompt": "a kite", "start_image_url": path})
    with pytest.raises(ImageInputError, match="not a JPEG, PNG or WebP"):
        client.run(I2V, {"prompt": "a kite", "start_image_url": path})
    assert not server.seen, [str(r.url) for r in server.seen]
