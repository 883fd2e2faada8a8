"""Why an input image was refused: the `type` of its 422 detail entry. The one table; nothing spells them."""

from __future__ import annotations

from enum import StrEnum


class ImageProblem(StrEnum):
    # A URL refused by the address rules keeps reelserve.addresses' own codes (url_scheme, url_refused...).
    UNREACHABLE = "image_unreachable"  # the host did not resolve, or no connection could be made
    TIMEOUT = "image_timeout"  # the whole fetch took longer than its deadline
    STATUS = "image_status"  # the server answered something other than 2xx (or a redirect)
    REDIRECTS = "image_redirects"  # too many redirects, or one without a usable Location
    TOO_LARGE = "image_too_large"  # more bytes than an image may have
    DATA_URI = "image_data_uri"  # not a data:image/...;base64, URI, or not strict base64
    TYPE = "image_type"  # the bytes are not a JPEG, PNG or WebP image
    CORRUPT = "image_corrupt"  # the bytes start like an image but do not decode
    TOO_MANY_PIXELS = "image_too_many_pixels"  # more pixels than may be decoded
    TOO_SMALL = "image_too_small"  # the short side is below the minimum
    ASPECT = "image_aspect"  # too wide or too tall
