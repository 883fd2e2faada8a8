"""MP4 muxing: exact duration and size, H.264 yuv420p, AAC exactly as long, or no audio stream at all."""

from __future__ import annotations

import numpy as np
import pytest

from reelserve.media import Clip
from reelserve.media import write_mp4
from tests.mp4probe import probe_mp4


def clip(seconds: int, width: int = 256, height: int = 144, sound: bool = True, fps: int = 24) -> Clip:
    rng = np.random.default_rng(seconds)
    frames = rng.integers(0, 256, (seconds * fps, height, width, 3), dtype=np.uint8)
    audio = (np.sin(np.linspace(0, 2000, seconds * 24000, dtype=np.float32))[None].repeat(2, 0) * 0.3) if sound else None
    return Clip(frames, fps, audio, 24000 if sound else None)


@pytest.mark.parametrize("seconds", [3, 5, 11])
def test_duration_size_and_codecs(tmp_path, seconds: int) -> None:
    info = probe_mp4(write_mp4(clip(seconds), tmp_path / "v.mp4"))
    assert info.frames == seconds * 24 and info.fps == 24 and info.duration_seconds == seconds
    assert (info.width, info.height) == (256, 144)
    assert (info.video_codec, info.pix_fmt) == ("h264", "yuv420p")
    assert info.has_audio and info.audio_codec == "aac" and info.sample_rate == 24000
    assert info.audio_seconds == pytest.approx(seconds, abs=1e-6)  # exactly as long as the video
    assert info.audio_decoded_seconds - seconds < 2 * 1024 / 24000  # only AAC priming/padding beyond


def test_no_audio_stream_when_sound_is_off(tmp_path) -> None:
    info = probe_mp4(write_mp4(clip(3, sound=False), tmp_path / "v.mp4"))
    assert not info.has_audio and info.audio_seconds is None and info.frames == 72


def test_portrait_and_square(tmp_path) -> None:
    assert (probe_mp4(write_mp4(clip(3, 144, 256), tmp_path / "p.mp4")).width, 144) == (144, 144)
    square = probe_mp4(write_mp4(clip(3, 192, 192), tmp_path / "s.mp4"))
    assert (square.width, square.height) == (192, 192)


def test_nothing_half_written_is_left_behind(tmp_path) -> None:
    target = tmp_path / "v.mp4"
    write_mp4(clip(3), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]
