"""Bytes -> a checked, upright RGB image: the type from the bytes, the size from the header before decoding."""

from __future__ import annotations

import io
import tracemalloc

import pytest
from PIL import Image

from reelserve.errors import InputImageError
from reelserve.images import (MAX_PIXELS, ImageFormat, ImageProblem, InputImage, nearest_aspect_ratio,
                              read_image)
from tests.images.pictures import BLUE, RED, encoded, png_claiming


def _refused(data: bytes) -> InputImageError:
    with pytest.raises(InputImageError) as refused:
        read_image(data)
    return refused.value


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_each_accepted_format_decodes_to_rgb(fmt: str) -> None:
    data = encoded(640, 360, fmt)
    image = read_image(data)
    assert isinstance(image, InputImage) and image.source_format == ImageFormat(fmt), image
    assert (image.width, image.height, image.image.mode, image.byte_size) == (640, 360, "RGB", len(data)), image


@pytest.mark.parametrize(("data", "seen"), [
    (encoded(400, 400, "GIF", mode="P"), "a GIF"),
    (b"hello, this is a text file\n" * 40, "of no image type"),
    (b"<!doctype html><title>Sign in</title>", "text (HTML, XML or SVG)"),
    (encoded(400, 400, "BMP"), "a BMP"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "a HEIC"),
    (b"", "empty"),
])
def test_anything_but_jpeg_png_or_webp_is_refused_by_its_bytes(data: bytes, seen: str) -> None:
    refused = _refused(data)
    assert refused.code == ImageProblem.TYPE and seen in refused.reason, (refused.code, refused.reason)


def test_a_truncated_image_is_refused_as_corrupt() -> None:
    data = encoded(640, 360, "JPEG")
    refused = _refused(data[:len(data) // 2])
    assert refused.code == ImageProblem.CORRUPT and "JPEG" in refused.reason, refused.reason


@pytest.mark.parametrize(("size", "problem", "said"), [
    ((299, 400), ImageProblem.TOO_SMALL, "at least 300 pixels"),
    ((400, 200), ImageProblem.TOO_SMALL, "at least 300 pixels"),
    ((751, 300), ImageProblem.ASPECT, "2.50:1"),
    ((300, 1000), ImageProblem.ASPECT, "3.33:1"),
])
def test_too_small_or_too_thin_is_refused(size: tuple[int, int], problem: ImageProblem, said: str) -> None:
    refused = _refused(encoded(*size))
    assert refused.code == problem and said in refused.reason, (refused.code, refused.reason)


@pytest.mark.parametrize("size", [(300, 300), (750, 300), (300, 750)])
def test_the_limits_themselves_pass(size: tuple[int, int]) -> None:
    assert read_image(encoded(*size)).image.size == size


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's guard, lowered to ours
@pytest.mark.parametrize("size", [(20000, 20000), (8000, 6000), (65535, 65535)])
def test_a_tiny_file_claiming_too_many_pixels_is_refused_without_decoding(size: tuple[int, int]) -> None:
    data = png_claiming(*size)
    assert len(data) < 100 and size[0] * size[1] > MAX_PIXELS
    tracemalloc.start()
    try:
        refused = _refused(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.code == ImageProblem.TOO_MANY_PIXELS, (refused.code, refused.reason)
    assert peak < 1024 * 1024, f"refusing a {size} header allocated {peak:,} bytes at its peak"


def test_pillows_own_guard_is_lowered_to_the_limit() -> None:
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS, Image.MAX_IMAGE_PIXELS


def test_exif_orientation_is_applied() -> None:
    image = read_image(encoded(400, 600, "JPEG", orientation=6)).image  # stored 400x600, shown turned 90° clockwise
    assert image.size == (600, 400), image.size
    # The stored top-left corner is at the top-right once turned clockwise.
    assert _near(image.getpixel((590, 10)), RED) and _near(image.getpixel((10, 10)), BLUE), \
        (image.getpixel((590, 10)), image.getpixel((10, 10)))


def test_transparent_pixels_are_composited_on_white() -> None:
    image = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 50, 50))
    out = io.BytesIO()
    image.save(out, format="PNG")
    rgb = read_image(out.getvalue()).image
    assert rgb.mode == "RGB" and rgb.getpixel((200, 200)) == (255, 255, 255) and rgb.getpixel((10, 10)) == RED


@pytest.mark.parametrize(("size", "ratio"), [
    ((1920, 1080), "16:9"), ((1080, 1920), "9:16"), ((1000, 1000), "1:1"), ((1300, 1000), "1:1"),
    ((1400, 1000), "16:9"), ((1000, 1400), "9:16"), ((2500, 1000), "16:9"),
])
def test_the_nearest_output_aspect_ratio(size: tuple[int, int], ratio: str) -> None:
    assert nearest_aspect_ratio(*size) == ratio, (size, nearest_aspect_ratio(*size))


def _near(seen: tuple[int, ...], color: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(seen, color))  # JPEG and resampling shift colors a little
