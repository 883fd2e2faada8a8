"""A pretrained LTX-2 checkpoint in diffusers' layout: a Hugging Face hub id, or a local folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelserve.engines.ltx2.layout import LORA_ADAPTER, LORA_WEIGHT_NAME, UPSAMPLER_SUBFOLDER
from reelserve.engines.ltx2.weights import WeightsSource
from reelserve.errors import WeightsUnavailableError


def from_pretrained(source: str, dtype: Any) -> tuple[Any, Any]:
    """Load the pipeline, the upsampler and the distilled LoRA from a checkpoint folder or hub id."""
    from diffusers import LTX2Pipeline
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

    pipe = LTX2Pipeline.from_pretrained(source, dtype=dtype)
    upsampler = LTX2LatentUpsamplerModel.from_pretrained(source, subfolder=UPSAMPLER_SUBFOLDER, dtype=dtype)
    pipe.load_lora_weights(source, weight_name=LORA_WEIGHT_NAME, adapter_name=LORA_ADAPTER)
    return pipe, upsampler


class PretrainedSource(WeightsSource):
    def __init__(self, location: str) -> None:
        self.name = location

    def load(self, dtype: Any, device: str) -> tuple[Any, Any]:
        try:
            return from_pretrained(self.name, dtype)
        except (OSError, ValueError) as exc:
            where = "local directory" if Path(self.name).exists() else "Hugging Face hub id"
            raise WeightsUnavailableError(
                f"could not load LTX-2 weights from {where} {self.name!r}: {exc}. Pass --weights tiny for the offline "
                "test weights, or a directory holding a diffusers LTX-2 checkpoint (`reelserve pull` fetches one)."
            ) from exc
