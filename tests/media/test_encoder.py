"""Which encoder writes the MP4: NVENC only where it really opens, libx264 otherwise, with a log line on CUDA."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from reelserve.media import Clip, write_mp4
from reelserve.media.encoder import NVENC, X264, can_open, choose_encoder
from tests.mp4probe import probe_mp4


def test_a_cpu_engine_encodes_with_libx264_without_probing(caplog) -> None:
    caplog.set_level(logging.INFO, logger="reelserve.media.encoder")
    assert choose_encoder("cpu", available={"h264_nvenc", "libx264"}, opens=lambda codec: pytest.fail("probed")) is X264
    assert caplog.records == []


def test_a_cuda_engine_uses_nvenc_where_it_opens() -> None:
    opened: list[str] = []
    chosen = choose_encoder("cuda:0", available={"h264_nvenc", "libx264"}, opens=lambda c: opened.append(c) or True)
    assert chosen is NVENC and opened == ["h264_nvenc"]


def test_a_cuda_engine_falls_back_to_libx264_and_says_why(caplog) -> None:
    caplog.set_level(logging.INFO, logger="reelserve.media.encoder")
    assert choose_encoder("cuda", available={"libx264"}) is X264
    assert "this FFmpeg has no h264_nvenc" in caplog.text
    caplog.clear()
    assert choose_encoder("cuda", available={"h264_nvenc", "libx264"}, opens=lambda codec: False) is X264
    assert "h264_nvenc could not be opened" in caplog.text


def test_this_machine_has_nvenc_compiled_in_but_no_gpu_to_open_it(caplog) -> None:
    """The real probe, on a machine without an NVIDIA GPU: PyAV's FFmpeg lists NVENC, opening it fails."""
    caplog.set_level(logging.INFO, logger="reelserve.media.encoder")
    assert can_open("libx264") is True
    assert can_open("h264_nvenc") is False
    assert choose_encoder("cuda") is X264 and "encoding with libx264" in caplog.text


def test_the_chosen_settings_write_a_playable_h264_file(tmp_path) -> None:
    frames = np.random.default_rng(0).integers(0, 255, (24, 144, 256, 3), dtype=np.uint8)
    info = probe_mp4(write_mp4(Clip(frames=frames, fps=24, audio=None, sample_rate=None), tmp_path / "v.mp4",
                               encoder=X264))
    assert (info.video_codec, info.pix_fmt, info.width, info.height, info.frames) == ("h264", "yuv420p", 256, 144, 24)
