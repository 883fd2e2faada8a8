"""What an engine hands to the muxer: decoded frames and, with sound, an audio track of the same length."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Clip:
    """Decoded output: exactly `duration * fps` frames and, with sound, exactly as long an audio track."""

    frames: np.ndarray  # (frames, height, width, 3) uint8
    fps: int
    audio: np.ndarray | None  # (channels, samples) float32 in [-1, 1]
    sample_rate: int | None
    timings: dict[str, float] = field(default_factory=dict)
    enhanced_prompts: tuple[str | None, ...] = ()  # per shot: what the prompt enhancer wrote, None where it did not run

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def duration_seconds(self) -> float:
        return self.frames.shape[0] / self.fps
