"""Engines turn a validated request into frames and audio. One package per diffusers model family."""

from __future__ import annotations

from pathlib import Path

from reelserve.catalog import LTX2_CHECKPOINT
from reelserve.engines.base import Engine, EngineInfo, GenerationSpec, ProgressCallback
from reelserve.engines.runtime import RuntimeOptions

__all__ = ["Engine", "EngineInfo", "GenerationSpec", "ProgressCallback", "RuntimeOptions", "load_engine"]


def load_engine(weights: str, *, device: str, cache_dir: Path, options: RuntimeOptions) -> Engine:
    """The engine for `weights` (auto, tiny, random-full, a hub id, a folder), loaded and warm.
    Every recipe runs LTX-2 today; a second family would be chosen here."""
    # torch and diffusers load here, in a process that generates: the API and `keys` never pay for them.
    from reelserve.engines.ltx2 import Ltx2Engine

    return Ltx2Engine.load(weights, device=device, cache_dir=cache_dir, checkpoint=LTX2_CHECKPOINT, options=options)
