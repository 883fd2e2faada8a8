"""Input images for image-to-video: a URL as it is, a local file as a data URI, judged before anything is sent."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from reelserve.client.errors import ImageInputError

# The largest image a data URI may carry, decoded. The server's own figure is
# reelserve.catalog.MAX_DATA_URI_IMAGE_BYTES; the SDK imports nothing of the server (pyproject.toml's
# contract), so it is restated here, and tests/client/test_images.py checks that the two agree.
MAX_DATA_URI_IMAGE_BYTES = 15 * 1024 * 1024

# The fields of an image-to-video body that hold an image (docs/http-api.md, "Input (image-to-video)").
IMAGE_FIELDS = ("start_image_url", "end_image_url")

PASSED_AS_IS = ("http://", "https://", "data:")  # the server fetches a URL itself and checks a data URI
MAGIC_BYTES = 12  # enough for the longest signature below (RIFF....WEBP)


def image_input(image: str | os.PathLike[str]) -> str:
    """What an image field should hold for `image`: an http(s) URL (or a data URI) as it is; a local JPEG,
    PNG or WebP file, named by a str or a Path, as a `data:image/...;base64,` URI of its bytes.

    ImageInputError, before any request, when the file is missing, is not one of those three types (judged by
    its bytes, not its name), or holds more than MAX_DATA_URI_IMAGE_BYTES (15 MiB: give such an image as a URL)."""
    if isinstance(image, str) and image.lower().startswith(PASSED_AS_IS):
        return image
    path = Path(image)
    data = _read(path)
    return f"data:{_media_type(path, data[:MAGIC_BYTES])};base64,{base64.b64encode(data).decode('ascii')}"


def with_image_inputs(input: dict[str, Any]) -> dict[str, Any]:
    """`input` with each image field given as a path (a Path or other os.PathLike) made a data URI by image_input;
    a str is sent as written, so a URL is never mistaken for a file name."""
    if not any(isinstance(input.get(field), os.PathLike) for field in IMAGE_FIELDS):
        return input
    return {name: image_input(value) if name in IMAGE_FIELDS and isinstance(value, os.PathLike) else value
            for name, value in input.items()}


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size  # judged before reading: a huge file is refused without loading it
        if size > MAX_DATA_URI_IMAGE_BYTES:
            raise ImageInputError(
                f"{path} is {size} bytes ({size / 2**20:.1f} MiB); a local image is sent inline as a data URI, "
                f"which may carry at most {MAX_DATA_URI_IMAGE_BYTES} bytes ({MAX_DATA_URI_IMAGE_BYTES // 2**20} MiB): "
                "put the image at an http(s) URL the server can fetch (up to 50 MB) and give that URL instead")
        return path.read_bytes()
    except OSError as exc:
        raise ImageInputError(f"cannot read the image {path}: {exc.strerror or exc}") from exc


def _media_type(path: Path, head: bytes) -> str:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    raise ImageInputError(f"{path} is not a JPEG, PNG or WebP image (judged by its first bytes, {head[:8]!r}, "
                          "not by its name): convert it to one of those")
