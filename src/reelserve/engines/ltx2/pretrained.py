"""A pretrained LTX checkpoint in diffusers' layout: a Hugging Face hub id, or a local folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from reelserve.engines.ltx2.families import Family
from reelserve.engines.ltx2.layout import LORA_ADAPTER, UPSAMPLER_SUBFOLDER
from reelserve.engines.ltx2.weights import WeightsSource
from reelserve.errors import WeightsUnavailableError

log = logging.getLogger(__name__)


def from_folder(source: str, family: Family, dtype: Any, *, hub: bool = False) -> tuple[Any, Any]:
    """The pipeline with the distilled LoRA as the `distilled` adapter, and the 2x latent upsampler.

    From the family's own hub repositories when `source` is its checkpoint id (`hub`); otherwise every piece
    from `source`, laid out as layout.py says (a full transformer folder is used where there is one).
    """
    from diffusers import LTX2Pipeline, LTX2VideoTransformer3DModel
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

    extra = {}
    subfolder = family.transformer_subfolder
    if subfolder and (hub or (Path(source) / subfolder).is_dir()):
        extra["transformer"] = LTX2VideoTransformer3DModel.from_pretrained(source, subfolder=subfolder, dtype=dtype)
    pipe = LTX2Pipeline.from_pretrained(source, dtype=dtype, **extra)
    upsampler = LTX2LatentUpsamplerModel.from_pretrained(family.upsampler_repo if hub else source,
                                                          subfolder=family.upsampler_subfolder if hub else
                                                          UPSAMPLER_SUBFOLDER, dtype=dtype)
    pipe.load_lora_weights(family.lora_repo if hub else source, weight_name=family.lora_weight_name,
                           adapter_name=LORA_ADAPTER)
    if hub and getattr(pipe, "processor", None) is None:
        _add_enhancer(pipe, family, dtype)
    return pipe, upsampler


def _add_enhancer(pipe: Any, family: Family, dtype: Any) -> None:
    """The prompt enhancer the checkpoint does not ship, as diffusers' LTX-2 docs load it. Enhancement is
    optional: a failure is logged and the engine runs without it (/v1/health says `prompt_enhancer: false`)."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    try:
        pipe.processor = AutoProcessor.from_pretrained(family.enhancer_repo)
        if family.enhancer == "dedicated":
            pipe.prompt_enhancer = AutoModelForImageTextToText.from_pretrained(family.enhancer_repo, dtype=dtype)
    except (OSError, ImportError, ValueError) as exc:
        pipe.processor = None
        log.warning("prompt enhancement is off: %s could not be loaded (%s)", family.enhancer_repo, exc)


class PretrainedSource(WeightsSource):
    def __init__(self, location: str, family: Family) -> None:
        self.name = location
        self.family = family

    def load(self, dtype: Any, device: str) -> tuple[Any, Any]:
        local = Path(self.name).exists()
        try:
            return from_folder(self.name, self.family, dtype, hub=not local)
        except (OSError, ValueError) as exc:
            where = "local directory" if local else "Hugging Face hub id"
            raise WeightsUnavailableError(
                f"could not load {self.family.name} weights from {where} {self.name!r}: {exc}. Pass --weights tiny for "
                "the offline test weights, or a directory holding a diffusers checkpoint of this family "
                "(`reelserve pull` fetches one)."
            ) from exc
