"""`data:image/<type>;base64,<data>` URIs: an input image sent inside the request (a reelserve extension).

Strict, so that one string has one meaning: the media type must be an image's (its subtype is only a
claim; the bytes decide the format), `;base64` must be there, and the data must be standard base64 with
its padding and nothing else (no whitespace, no URL-safe alphabet, no percent-encoding).
"""

from __future__ import annotations

import base64
import binascii
import re

from reelserve.catalog import MAX_DATA_URI_IMAGE_BYTES  # decoded; the URI is a third longer: the body limit fits it
from reelserve.errors import InputImageError
from reelserve.images.problems import ImageProblem

MAX_DATA_URI_CHARS = 4 * -(-MAX_DATA_URI_IMAGE_BYTES // 3)  # the base64 length of the largest accepted image
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"  # RFC 6838's restricted-name characters
_HEAD = re.compile(rf"data:(?P<type>{_TOKEN})/(?P<subtype>{_TOKEN})(?P<parameters>(?:;{_TOKEN}=[^;,]*)*)"
                   r"(?P<base64>;base64)?,", re.IGNORECASE)


def is_data_uri(value: str) -> bool:
    return value[:5].lower() == "data:"


def data_uri_bytes(uri: str) -> bytes:
    """The image bytes a data URI carries; InputImageError when it is not a base64 image URI or too large."""
    head = _HEAD.match(uri)
    if head is None:
        raise InputImageError("is not a data URI of the form data:image/<type>;base64,<data>", ImageProblem.DATA_URI)
    if head["type"].lower() != "image":
        raise InputImageError(f"is a data URI of the media type {head['type']}/{head['subtype']}; send an image "
                              "(data:image/jpeg, image/png or image/webp)", ImageProblem.DATA_URI)
    if not head["base64"]:
        raise InputImageError("is a data URI without ;base64; send the image base64-encoded "
                              "(data:image/<type>;base64,<data>)", ImageProblem.DATA_URI)
    data = uri[head.end():]
    if len(data) > MAX_DATA_URI_CHARS:
        raise InputImageError(f"is a data URI of about {len(data) * 3 // 4:,} bytes; at most "
                              f"{MAX_DATA_URI_IMAGE_BYTES:,} bytes ({MAX_DATA_URI_IMAGE_BYTES // 2**20} MiB) are "
                              "accepted inline: send a larger image by URL", ImageProblem.TOO_LARGE)
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: a character outside ASCII
        raise InputImageError(f"is a data URI whose data is not standard base64 ({exc}); encode the image "
                              "with the standard alphabet and padding, without line breaks", ImageProblem.DATA_URI) from exc
    if not decoded:
        raise InputImageError("is a data URI with no data", ImageProblem.DATA_URI)
    return decoded
