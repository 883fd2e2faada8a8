"""Shots -> one clip: hard cuts in the picture, one continuous audio track across them.

Each shot's audio is rendered a little past its cut. That extra audio is crossfaded (equal
power) into the start of the next shot, so the track has no gap and no click at a cut, and
its length is still exactly the sum of the shots.
"""

from __future__ import annotations

import numpy as np

from reelserve.media.clip import Clip

CROSSFADE_SECONDS = 0.02


def crossfade_samples(sample_rate: int) -> int:
    return round(CROSSFADE_SECONDS * sample_rate)


def join_shots(shots: list[tuple[np.ndarray, np.ndarray | None]], fps: int, sample_rate: int | None) -> Clip:
    """`shots`: (frames, audio) in order. Every audio but the last carries a crossfade tail past its cut."""
    frames = np.concatenate([f for f, _ in shots]) if len(shots) > 1 else shots[0][0]
    if sample_rate is None or shots[0][1] is None:
        return Clip(frames, fps, None, None)
    fade = crossfade_samples(sample_rate)
    ramp = np.linspace(0.0, np.pi / 2, fade, dtype=np.float32)
    fade_in, fade_out = np.sin(ramp), np.cos(ramp)
    pieces: list[np.ndarray] = []
    tail: np.ndarray | None = None
    for index, (shot_frames, audio) in enumerate(shots):
        body = audio.copy()
        if tail is not None:
            body[:, :fade] = body[:, :fade] * fade_in + tail * fade_out
        length = round(len(shot_frames) / fps * sample_rate)
        if index < len(shots) - 1:
            tail = body[:, length : length + fade]
        pieces.append(body[:, :length])
    return Clip(frames, fps, np.concatenate(pieces, axis=1), sample_rate)
