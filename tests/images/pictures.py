"""Image files made here, in memory: real encoders, and one PNG written by hand to lie about its size."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

RED, BLUE = (255, 0, 0), (0, 0, 255)


def encoded(width: int, height: int, fmt: str = "PNG", *, mode: str = "RGB", orientation: int | None = None) -> bytes:
    """A `fmt` file of a blue picture whose top-left 50x50 corner is red, as stored (before any EXIF turn)."""
    image = Image.new(mode, (width, height), BLUE if mode == "RGB" else None)
    if mode == "RGB":
        image.paste(RED, (0, 0, 50, 50))
    out = io.BytesIO()
    if orientation is None:
        image.save(out, format=fmt)
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation  # Orientation
        image.save(out, format=fmt, exif=exif)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header says width x height: decoding it would allocate that much."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + chunk(b"IEND", b""))
