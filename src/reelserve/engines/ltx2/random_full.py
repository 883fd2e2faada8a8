"""`--weights random-full`: a family's full-size architecture with random weights, built on the device.

For measuring full-size speed and memory on a GPU without downloading 60-90 GB. The configs are kept
in `configs/<family>/` (a few KB each; configs/README.md gives their sources). The video is noise;
shapes, timings and memory are real. The distilled LoRA is stood in for by an adapter of its rank on
the same projections as the tiny one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reelserve.engines.ltx2.components import MODEL_COMPONENTS, build_component, load_config
from reelserve.engines.ltx2.families import Family
from reelserve.engines.ltx2.layout import LORA_ADAPTER, LORA_TARGETS
from reelserve.engines.ltx2.tokenizer import build_processor, build_tokenizer
from reelserve.engines.ltx2.weights import WeightsSource


def lora_rank(family: Family) -> int:
    """The distilled LoRA's rank, as its file name says (`...-lora-384...`, `...-lora-450-...`)."""
    return int(family.lora_weight_name.split("lora-")[1].split("-")[0].split(".")[0])


def build_modules(family: Family, *, dtype: Any, device: str) -> dict[str, Any]:
    """Every model component from its config, allocated straight on `device` in `dtype`.

    Allocating on the device (not on the CPU, then moving) is what makes a 22B build take seconds;
    `device="meta"` builds the shapes alone, which is how the tests check the configs on a CPU.
    """
    names = [*MODEL_COMPONENTS, "latent_upsampler", "prompt_enhancer"]
    configs = {name: load_config(family.configs, name) for name in names}
    with _allocating(device, dtype):
        return {name: build_component(config) for name, config in configs.items() if config is not None}


def build_random_full(family: Family, *, dtype: Any, device: str) -> tuple[Any, Any]:
    """(LTX2Pipeline with a `distilled` adapter, latent upsampler) with random weights, on `device`."""
    from diffusers import FlowMatchEulerDiscreteScheduler, LTX2Pipeline
    from peft import LoraConfig

    modules = build_modules(family, dtype=dtype, device=device)
    upsampler = modules.pop("latent_upsampler")
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(load_config(family.configs, "scheduler"))
    tokenizer = build_tokenizer()
    pipe = LTX2Pipeline(scheduler=scheduler, tokenizer=tokenizer, processor=build_processor(tokenizer), **modules)
    rank = lora_rank(family)
    with _allocating(device, dtype):  # the adapter's billions of parameters, like the rest, go straight to the device
        pipe.transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=LORA_TARGETS),
                                     adapter_name=LORA_ADAPTER)
    return pipe, upsampler


class RandomFullSource(WeightsSource):
    name = "random-full"
    random_weights = True

    def __init__(self, family: Family) -> None:
        self.family = family

    def load(self, dtype: Any, device: str) -> tuple[Any, Any]:
        return build_random_full(self.family, dtype=dtype, device=device)


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
