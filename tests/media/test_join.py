"""Joining shots: exact lengths, and audio with no gap and no click at a cut."""

from __future__ import annotations

import numpy as np

from reelserve.media.join import crossfade_samples, join_shots

SR, FPS = 24000, 24


def shot(seconds: float, level: float, tail: bool) -> tuple[np.ndarray, np.ndarray]:
    frames = np.full((int(seconds * FPS), 8, 8, 3), int(level * 100) + 100, dtype=np.uint8)
    samples = int(seconds * SR) + (crossfade_samples(SR) if tail else 0)
    return frames, np.full((2, samples), level, dtype=np.float32)


def test_lengths_are_the_sum_of_the_shots() -> None:
    clip = join_shots([shot(1, 0.5, True), shot(2, -0.5, True), shot(1.5, 0.2, False)], FPS, SR)
    assert clip.frames.shape[0] == int(4.5 * FPS)
    assert clip.audio.shape == (2, int(4.5 * SR))


def test_cut_is_hard_in_the_picture_and_smooth_in_the_sound() -> None:
    clip = join_shots([shot(1, 0.5, True), shot(1, -0.5, False)], FPS, SR)
    assert clip.frames[23, 0, 0, 0] != clip.frames[24, 0, 0, 0]  # the cut lands exactly on frame 24
    steps = np.abs(np.diff(clip.audio[0]))
    assert steps.max() < 0.01, "a 1.0 jump would click; the crossfade spreads it out"
    assert np.abs(clip.audio[0]).min() > 0 or np.count_nonzero(clip.audio[0] == 0) <= 1, "no silent gap"


def test_without_sound_there_is_no_audio() -> None:
    frames = np.zeros((24, 8, 8, 3), dtype=np.uint8)
    clip = join_shots([(frames, None), (frames, None)], FPS, None)
    assert clip.audio is None and clip.frames.shape[0] == 48
