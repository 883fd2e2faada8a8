"""Reading an MP4 back, fully decoded, to check what the service really wrote (frames by decoding, not headers)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av


@dataclass(frozen=True)
class Mp4Info:
    width: int
    height: int
    fps: float
    frames: int
    duration_seconds: float
    video_codec: str
    pix_fmt: str
    has_audio: bool
    audio_codec: str | None
    audio_seconds: float | None  # as the container declares it (edit list applied)
    audio_decoded_seconds: float | None  # every decoded sample, AAC priming and padding included
    sample_rate: int | None


def probe_mp4(path: Path) -> Mp4Info:
    """Decode an MP4 fully and report what is really in it (frame count by decoding, not headers)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        fps = float(video.average_rate or video.guessed_rate)
        audio_streams = container.streams.audio
        audio_seconds = decoded_seconds = sample_rate = audio_codec = None
        if audio_streams:
            container.seek(0)
            stream = audio_streams[0]
            samples = sum(frame.samples for frame in container.decode(stream))
            sample_rate, audio_codec = stream.rate, stream.codec_context.name
            # The edit list trims AAC priming; its duration is what players play.
            audio_seconds = float(stream.duration * stream.time_base)
            decoded_seconds = samples / sample_rate
        return Mp4Info(
            width=video.width,
            height=video.height,
            fps=fps,
            frames=frames,
            duration_seconds=frames / fps,
            video_codec=video.codec_context.name,
            pix_fmt=video.codec_context.pix_fmt,
            has_audio=bool(audio_streams),
            audio_codec=audio_codec,
            audio_seconds=audio_seconds,
            audio_decoded_seconds=decoded_seconds,
            sample_rate=sample_rate,
        )
