"""Engines turn a validated request into frames and audio. One package per diffusers model family."""

from __future__ import annotations

from pathlib import Path

from reelserve.engines.base import Engine, EngineInfo, GenerationSpec, ProgressCallback
from reelserve.engines.runtime import RuntimeOptions

__all__ = ["Engine", "EngineInfo", "GenerationSpec", "ProgressCallback", "RuntimeOptions", "load_engine"]


def load_engine(weights: str, *, family: str, device: str, cache_dir: Path, options: RuntimeOptions,
                enhance_prompt: bool = True) -> Engine:
    """The engine for `family` (ltx-2.5, ltx-2.3, ltx-2) from `weights` (auto, tiny, random-full, a hub id, a
    folder), loaded and warm. `enhance_prompt`: the server's default for requests that do not say."""
    # torch and diffusers load here, in a process that generates: the API and `keys` never pay for them.
    from reelserve.engines.ltx2 import Ltx2Engine

    return Ltx2Engine.load(weights, family=family, device=device, cache_dir=cache_dir, options=options,
                           enhance_prompt=enhance_prompt)
