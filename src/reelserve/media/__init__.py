"""Frames + audio -> MP4, and reading one back."""

from __future__ import annotations

from reelserve.media.mp4 import Mp4Info, probe_mp4, write_mp4

__all__ = ["Mp4Info", "probe_mp4", "write_mp4"]
