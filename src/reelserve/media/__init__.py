"""Frames + audio -> MP4: the `Clip` an engine returns, shots joined into one, and the muxer."""

from __future__ import annotations

from reelserve.media.clip import Clip
from reelserve.media.mp4 import write_mp4

__all__ = ["Clip", "write_mp4"]
