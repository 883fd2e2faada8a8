"""`--weights random-full`: LTX-2 19B's real architecture with random weights, built on the device.

For measuring full-size speed and memory on a GPU without downloading ~60 GB. The configs are kept
in `configs/ltx2-19b/` (a few KB). The video is noise; shapes, timings and memory are real. The
distilled LoRA is stood in for by a rank-384 adapter on the same projections as the tiny one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reelserve.engines.ltx2.layout import LORA_ADAPTER, LORA_TARGETS
from reelserve.engines.ltx2.tokenizer import build_tokenizer
from reelserve.engines.ltx2.weights import WeightsSource

CONFIGS = Path(__file__).parent / "configs" / "ltx2-19b"
LORA_RANK = 384


def load_config(component: str) -> dict[str, Any]:
    return json.loads((CONFIGS / component / "config.json").read_text())


def build_modules(*, dtype: Any, device: str) -> dict[str, Any]:
    """Every model component from its config, allocated straight on `device` in `dtype`.

    Allocating on the device (not on the CPU, then moving) is what makes a 19B build take seconds;
    `device="meta"` builds the shapes alone, which is how the tests check the configs on a CPU.
    """
    from diffusers import AutoencoderKLLTX2Audio, AutoencoderKLLTX2Video, LTX2VideoTransformer3DModel
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    classes = {
        "transformer": LTX2VideoTransformer3DModel, "vae": AutoencoderKLLTX2Video,
        "audio_vae": AutoencoderKLLTX2Audio, "connectors": LTX2TextConnectors, "vocoder": LTX2Vocoder,
        "latent_upsampler": LTX2LatentUpsamplerModel,
    }
    with _allocating(device, dtype):
        modules = {name: cls.from_config(load_config(name)) for name, cls in classes.items()}
        text_config = {k: v for k, v in load_config("text_encoder").items() if k not in ("architectures", "model_type")}
        modules["text_encoder"] = Gemma3ForConditionalGeneration(Gemma3Config(**text_config))
    return modules


def build_random_full(*, dtype: Any, device: str) -> tuple[Any, Any]:
    """(LTX2Pipeline with a `distilled` adapter, latent upsampler) with random weights, on `device`."""
    from diffusers import FlowMatchEulerDiscreteScheduler, LTX2Pipeline
    from peft import LoraConfig

    modules = build_modules(dtype=dtype, device=device)
    upsampler = modules.pop("latent_upsampler")
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(load_config("scheduler"))
    pipe = LTX2Pipeline(scheduler=scheduler, tokenizer=build_tokenizer(), **modules)
    lora = LoraConfig(r=LORA_RANK, lora_alpha=LORA_RANK, target_modules=LORA_TARGETS)
    with _allocating(device, dtype):  # the adapter's 3.3B parameters, like the rest, go straight to the device
        pipe.transformer.add_adapter(lora, adapter_name=LORA_ADAPTER)
    return pipe, upsampler


class RandomFullSource(WeightsSource):
    name = "random-full"
    random_weights = True

    def load(self, dtype: Any, device: str) -> tuple[Any, Any]:
        return build_random_full(dtype=dtype, device=device)


@contextmanager
def _allocating(device: str, dtype: Any) -> Iterator[None]:
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(previous)
