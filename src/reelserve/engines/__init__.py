"""Engines turn a validated request into frames and audio. One package per diffusers model family."""

from __future__ import annotations

from reelserve.catalog import LTX2_CHECKPOINT
from reelserve.engines.base import Engine, EngineInfo, GenerationSpec, ProgressCallback
from reelserve.settings import Settings

__all__ = ["Engine", "EngineInfo", "GenerationSpec", "ProgressCallback", "load_engine"]


def load_engine(settings: Settings) -> Engine:
    """The engine the settings name (today every recipe runs LTX-2), loaded and warm."""
    # torch and diffusers load here, in a process that generates: the API and `keys` never pay for them.
    from reelserve.engines.ltx2 import Ltx2Engine
    from reelserve.engines.runtime import RuntimeOptions

    options = RuntimeOptions(
        dtype=settings.dtype, attention_backend=settings.attention_backend, compile=settings.compile,
        vae_tiling=settings.vae_tiling, offload_text_encoder=settings.offload_text_encoder, fp8=settings.fp8,
    )
    return Ltx2Engine.load(
        settings.weights, device=settings.device, cache_dir=settings.cache_dir, checkpoint=LTX2_CHECKPOINT,
        options=options,
    )
