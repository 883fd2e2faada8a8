"""Which H.264 encoder writes the MP4, and with what settings.

The settings were chosen by measurement (bench/encode.py; docs/bench.md has the table): encoding
speed, file size, and PSNR of the decoded MP4 against the frames the encoder was given, on several
kinds of content. On a CUDA engine whose FFmpeg (the one inside PyAV) has NVENC, and whose GPU has
an NVENC unit (data-centre parts such as A100, H100 and H200 have none), the GPU encodes and the
CPU is left alone; anywhere else libx264 does, and a CUDA worker says in its log why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from fractions import Fraction

import av

log = logging.getLogger(__name__)

NVENC_CODEC = "h264_nvenc"


@dataclass(frozen=True)
class VideoEncoder:
    codec: str
    options: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """For logs and result metadata, e.g. "libx264 preset=ultrafast crf=25"."""
        return " ".join([self.codec, *(f"{name}={value}" for name, value in self.options)])


# ultrafast with CABAC and two B-frames back: 2-2.5x veryfast's speed on 2 cores, at 0.9-1.2x its
# file size and 44-48 dB on everything but heavy film grain (bench/encode.py).
X264 = VideoEncoder("libx264", (("preset", "ultrafast"), ("crf", "25"), ("x264-params", "cabac=1:bframes=2")))
# Constant quality in NVENC's terms; not measured yet (no GPU with NVENC has been lent to this project).
NVENC = VideoEncoder(NVENC_CODEC, (("preset", "p4"), ("tune", "hq"), ("rc", "vbr"), ("cq", "21"), ("b", "0")))


def can_open(codec: str) -> bool:
    """Whether FFmpeg can open `codec` here: NVENC is compiled into PyAV's FFmpeg everywhere, but opens
    only with an NVIDIA driver and a GPU that has the encoder unit."""
    try:
        context = av.CodecContext.create(codec, "w")
        context.width, context.height, context.pix_fmt = 256, 144, "yuv420p"
        context.time_base = Fraction(1, 24)
        context.open()
    except (av.FFmpegError, ValueError, OSError):
        return False
    return True


def choose_encoder(device: str, *, available: Collection[str] | None = None,
                   opens: Callable[[str], bool] = can_open) -> VideoEncoder:
    """NVENC for an engine on CUDA where it can be opened, libx264 otherwise (said in the log for CUDA)."""
    if not device.startswith("cuda"):
        return X264
    available = av.codecs_available if available is None else available
    if NVENC_CODEC not in available:
        log.info("encoding with libx264: this FFmpeg has no %s", NVENC_CODEC)
        return X264
    if not opens(NVENC_CODEC):
        log.info("encoding with libx264: %s could not be opened (no NVENC unit on this GPU, or no driver for it)",
                 NVENC_CODEC)
        return X264
    return NVENC
