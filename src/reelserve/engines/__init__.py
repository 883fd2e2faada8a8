"""Engines turn a validated request into frames and audio. One package per diffusers model family."""

from __future__ import annotations

from reelserve.engines.base import Engine, EngineInfo, GenerationSpec, ProgressCallback
from reelserve.engines.runtime import EngineConfig, RuntimeOptions

__all__ = ["Engine", "EngineConfig", "EngineInfo", "GenerationSpec", "ProgressCallback", "RuntimeOptions",
           "load_engine"]


def load_engine(config: EngineConfig) -> Engine:
    """The engine for `config.family` (ltx-2.5, ltx-2.3, ltx-2) from `config.weights` (auto, tiny, random-full,
    a hub id, a folder), loaded and warm; `config.enhance_prompt` is the default for requests that do not say."""
    # torch and diffusers load here, in a process that generates: the API and `keys` never pay for them.
    from reelserve.engines.ltx2 import Ltx2Engine

    return Ltx2Engine.load(config.weights, family=config.family, device=config.device, cache_dir=config.cache_dir,
                           options=config.options, enhance_prompt=config.enhance_prompt)
