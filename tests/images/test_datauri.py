"""`data:image/...;base64,` URIs: strict, bounded, and the bytes still decide the format."""

from __future__ import annotations

import base64

import pytest

from reelserve.errors import InputImageError
from reelserve.images import (MAX_DATA_URI_IMAGE_BYTES, ImageFetcher, ImageFormat, ImageProblem, data_uri_bytes,
                              open_input_image)
from reelserve.images.datauri import MAX_DATA_URI_CHARS
from tests.images.pictures import encoded


def _uri(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def _refused(uri: str) -> InputImageError:
    with pytest.raises(InputImageError) as refused:
        data_uri_bytes(uri)
    return refused.value


def test_a_good_data_uri_decodes_to_its_image() -> None:
    png = encoded(640, 360)
    assert data_uri_bytes(_uri(png)) == png
    image = open_input_image(_uri(png), ImageFetcher())
    assert (image.source_format, image.width, image.height) == (ImageFormat.PNG, 640, 360), image


def test_the_media_type_is_a_claim_the_bytes_overrule() -> None:
    png = encoded(640, 360)
    assert data_uri_bytes(_uri(png, "IMAGE/JPEG;name=photo.jpg")) == png  # case and parameters allowed
    assert open_input_image(_uri(png, "image/jpeg"), ImageFetcher()).source_format == ImageFormat.PNG
    with pytest.raises(InputImageError) as refused:
        open_input_image(_uri(encoded(400, 400, "GIF", mode="P"), "image/png"), ImageFetcher())
    assert refused.value.code == ImageProblem.TYPE and "a GIF" in refused.value.reason, refused.value.reason


def test_the_largest_accepted_size_and_one_byte_more() -> None:
    assert MAX_DATA_URI_IMAGE_BYTES == 15 * 1024 * 1024
    largest = b"\xff\xd8\xff" + bytes(MAX_DATA_URI_IMAGE_BYTES - 3)
    assert len(data_uri_bytes(_uri(largest))) == MAX_DATA_URI_IMAGE_BYTES
    refused = _refused(_uri(largest + b"x"))
    assert refused.code == ImageProblem.TOO_LARGE and "15 MiB" in refused.reason, refused.reason


def test_a_too_large_uri_is_refused_before_decoding() -> None:
    refused = _refused("data:image/png;base64," + "!" * (MAX_DATA_URI_CHARS + 1))  # not even base64
    assert refused.code == ImageProblem.TOO_LARGE, (refused.code, refused.reason)


@pytest.mark.parametrize(("uri", "said"), [
    ("data:image/png;base64,iVBORw0KGgo$", "not standard base64"),
    ("data:image/png;base64,iVBORw0KGgo", "not standard base64"),  # padding missing
    ("data:image/png;base64,iVBO\nRw0KGgo=", "not standard base64"),  # a line break
    ("data:image/png;base64,iVBO-_w0KGgo=", "not standard base64"),  # the URL-safe alphabet
    ("data:image/png;base64,iVBO%2Bw0KGgo=", "not standard base64"),  # percent-encoded
    ("data:image/png;base64,iVBORw0KGgo\u00e9", "not standard base64"),
    ("data:image/png;base64,", "no data"),
    ("data:image/png,\x89PNG", "without ;base64"),
    ("data:text/plain;base64,aGVsbG8=", "media type text/plain"),
    ("data:application/octet-stream;base64,aGVsbG8=", "media type application/octet-stream"),
    ("data:;base64,aGVsbG8=", "not a data URI of the form"),
    ("data:image;base64,aGVsbG8=", "not a data URI of the form"),
])
def test_a_malformed_data_uri_is_refused_with_its_reason(uri: str, said: str) -> None:
    refused = _refused(uri)
    assert refused.code == ImageProblem.DATA_URI and said in refused.reason, (refused.code, refused.reason)
