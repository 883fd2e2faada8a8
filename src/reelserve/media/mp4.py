"""Frames + audio -> MP4 (H.264 yuv420p, AAC) with PyAV.

The file is written beside its destination and renamed into place, so a reader never sees a
half-written video.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from reelserve.media.clip import Clip
from reelserve.media.encoder import X264, VideoEncoder

AAC_FRAME = 1024  # samples per AAC frame
AUDIO_BITRATE = 192_000


def write_mp4(clip: Clip, path: Path, *, encoder: VideoEncoder = X264) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with av.open(str(partial), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = _add_video_stream(container, clip, encoder)
        audio = _add_audio_stream(container, clip) if clip.audio is not None else None
        _encode_video(container, video, clip.frames)
        if audio is not None:
            _encode_audio(container, audio, clip.audio, clip.sample_rate)
    os.replace(partial, path)
    return path


def _add_video_stream(container: av.container.OutputContainer, clip: Clip, encoder: VideoEncoder):
    stream = container.add_stream(encoder.codec, rate=clip.fps)
    stream.width, stream.height = clip.width, clip.height
    stream.pix_fmt = "yuv420p"
    stream.time_base = Fraction(1, clip.fps)
    stream.options = dict(encoder.options)
    return stream


def _add_audio_stream(container: av.container.OutputContainer, clip: Clip):
    stream = container.add_stream("aac", rate=clip.sample_rate)
    stream.layout = "stereo" if clip.audio.shape[0] >= 2 else "mono"
    stream.bit_rate = AUDIO_BITRATE
    stream.time_base = Fraction(1, clip.sample_rate)
    return stream


def _encode_video(container: av.container.OutputContainer, stream, frames: np.ndarray) -> None:
    for index, rgb in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = index
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _encode_audio(container: av.container.OutputContainer, stream, audio: np.ndarray, sample_rate: int) -> None:
    channels = 2 if stream.layout.name == "stereo" else 1
    planar = np.ascontiguousarray(np.clip(audio[:channels], -1.0, 1.0).astype(np.float32))
    for start in range(0, planar.shape[1], AAC_FRAME):
        chunk = np.ascontiguousarray(planar[:, start : start + AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=stream.layout.name)
        frame.sample_rate = sample_rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
