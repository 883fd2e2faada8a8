"""Frames + audio -> MP4: the `Clip` an engine returns, shots joined into one, and the muxer."""

from __future__ import annotations

from reelserve.media.clip import Clip
from reelserve.media.encoder import VideoEncoder, choose_encoder
from reelserve.media.mp4 import write_mp4
from reelserve.media.poster import write_poster

__all__ = ["Clip", "VideoEncoder", "choose_encoder", "write_mp4", "write_poster"]
