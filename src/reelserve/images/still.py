"""An input image's bytes -> a checked, upright RGB picture.

The type comes from the bytes (a server's Content-Type, or a data URI's media type, is only a claim);
the size from the header, judged before a single pixel is decoded, so a small file declaring a huge
picture (a decompression bomb) costs nothing; then the pixels are decoded, turned upright by their EXIF
orientation, and made RGB.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from enum import StrEnum
from typing import get_args

from PIL import Image, ImageOps

from reelserve.catalog import AspectRatio
from reelserve.errors import InputImageError
from reelserve.images.problems import ImageProblem

MAX_PIXELS = 40_000_000  # decoded: 160 MB of RGBA at most; a 4K image is 8.3 million
MIN_SHORT_SIDE = 300  # pixels
MAX_ASPECT = 2.5  # the long side at most 2.5 times the short one (1:2.5 to 2.5:1)
BACKGROUND = (255, 255, 255)  # under transparent pixels: what a transparent PNG shows on a page

# Pillow checks its own limit inside Image.open, before ours can: lowered to ours, a format whose header
# Pillow reads further than we expect still meets a limit. Process-wide, and no other image in reelserve
# comes near it (video frames are 4K at most).
Image.MAX_IMAGE_PIXELS = min(Image.MAX_IMAGE_PIXELS or MAX_PIXELS, MAX_PIXELS)


class ImageFormat(StrEnum):
    """The formats accepted, by Pillow's names for them."""

    JPEG = "JPEG"
    PNG = "PNG"
    WEBP = "WEBP"


# What a refused file is, named in the refusal: by its first bytes.
_OTHER_TYPES = ((b"GIF8", "a GIF"), (b"BM", "a BMP"), (b"II*\x00", "a TIFF"), (b"MM\x00*", "a TIFF"),
                (b"%PDF", "a PDF"), (b"<", "text (HTML, XML or SVG)"), (b"{", "JSON text"))
_ISO_BRANDS = {b"heic": "a HEIC", b"heix": "a HEIC", b"mif1": "a HEIF", b"avif": "an AVIF"}


@dataclass(frozen=True)
class InputImage:
    """A checked input image: upright (EXIF orientation applied) and RGB."""

    image: Image.Image
    source_format: ImageFormat
    byte_size: int  # of the file as received

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


def read_image(data: bytes) -> InputImage:
    """The image `data` holds, checked; InputImageError naming the first rule it breaks."""
    source_format = sniff(data)
    try:
        with Image.open(io.BytesIO(data), formats=[source_format.value]) as opened:
            check_dimensions(*opened.size)  # before load(): nothing is decoded yet
            opened.load()
            upright = ImageOps.exif_transpose(opened)
    except Image.DecompressionBombError as exc:
        raise InputImageError(f"is too large to decode ({exc})", ImageProblem.TOO_MANY_PIXELS) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:  # how Pillow says "broken"
        raise InputImageError(f"starts like a {source_format.value} image but does not decode ({exc})",
                              ImageProblem.CORRUPT) from exc
    return InputImage(_rgb(upright), source_format, len(data))


def sniff(data: bytes) -> ImageFormat:
    """The format of `data` by its magic bytes; InputImageError for anything but JPEG, PNG or WebP."""
    if data.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageFormat.PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageFormat.WEBP
    raise InputImageError(f"is not a JPEG, PNG or WebP image (its bytes are {_what(data)}); send one of those",
                          ImageProblem.TYPE)


def _what(data: bytes) -> str:
    if not data:
        return "empty"
    if data[4:8] == b"ftyp" and (brand := _ISO_BRANDS.get(data[8:12])):
        return brand
    for magic, name in _OTHER_TYPES:
        if data.lstrip()[:len(magic)] == magic:
            return name
    return f"of no image type, starting {data[:8].hex(' ')}"


def check_dimensions(width: int, height: int) -> None:
    """Refuse a picture too large to decode, too small, or too thin. Judged on the stored size: turning it
    upright swaps width and height, which changes neither its short side nor whether its aspect passes."""
    if width * height > MAX_PIXELS:
        raise InputImageError(f"is {width}x{height}, {width * height / 1e6:.1f} megapixels; at most "
                              f"{MAX_PIXELS / 1e6:g} megapixels are accepted", ImageProblem.TOO_MANY_PIXELS)
    if min(width, height) < MIN_SHORT_SIDE:
        raise InputImageError(f"is {width}x{height}; its short side must be at least {MIN_SHORT_SIDE} pixels",
                              ImageProblem.TOO_SMALL)
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise InputImageError(f"is {width}x{height}, an aspect of {max(width, height) / min(width, height):.2f}:1; "
                              f"it must lie between 1:{MAX_ASPECT:g} and {MAX_ASPECT:g}:1", ImageProblem.ASPECT)


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")  # composited, not dropped: a dropped alpha shows whatever color hid there
        return Image.alpha_composite(Image.new("RGBA", rgba.size, BACKGROUND), rgba).convert("RGB")
    return image.convert("RGB")


def nearest_aspect_ratio(width: int, height: int) -> AspectRatio:
    """The output aspect ratio ("16:9", "9:16" or "1:1") closest to width:height, compared as logarithms
    so that 2:1 and 1:2 are equally far from 1:1."""
    return min(get_args(AspectRatio), key=lambda ratio: abs(math.log(width / height) - math.log(_ratio(ratio))))


def _ratio(aspect: str) -> float:
    across, down = aspect.split(":")
    return int(across) / int(down)

