"""A poster for a video: one frame as a JPEG, for history lists and the player before it starts."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from reelserve.media.clip import Clip

POSTER_AT_SECONDS = 1.0  # past a fade-in, and inside every clip (the shortest is 3 s)


def write_poster(clip: Clip, path: Path, *, quality: int = 85) -> Path:
    """The frame at POSTER_AT_SECONDS (the middle of a shorter clip), as a JPEG of the video's size."""
    index = min(round(POSTER_AT_SECONDS * clip.fps), clip.frames.shape[0] // 2)
    partial = path.with_name(f".{path.name}.partial")
    Image.fromarray(clip.frames[index]).save(partial, format="JPEG", quality=quality)
    os.replace(partial, path)
    return path
