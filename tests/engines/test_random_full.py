"""`--weights random-full`: the configs in the repo build each family's real architecture (checked on `meta`)."""

from __future__ import annotations

import pytest
import torch

from reelserve.engines.ltx2 import Ltx2Engine
from reelserve.engines.ltx2.components import load_config
from reelserve.engines.ltx2.families import FAMILIES
from reelserve.engines.ltx2.random_full import build_modules, lora_rank
from reelserve.engines.runtime import RuntimeOptions


def billions(module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e9


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_modules(request):
    family = FAMILIES[request.param]
    return family, build_modules(family, dtype=torch.bfloat16, device="meta")  # shapes only: no memory, no weights


def test_configs_build_the_full_size_architecture(family_modules) -> None:
    family, modules = family_modules
    # "LTX-2 19B" is the transformer; "22B" is the LTX-2.3/2.5 transformer with its text connectors.
    core = billions(modules["transformer"]) + (billions(modules["connectors"]) if family.name != "ltx-2" else 0)
    assert (18.5 < core < 19.5) if family.name == "ltx-2" else (21.5 < core < 22.5)
    assert 11.9 < billions(modules["text_encoder"]) < 12.3  # Gemma 3 12B, or LTX-2.5's Gemma 4 12B
    assert type(modules["text_encoder"]).__name__ == family.text_encoder
    assert all(p.dtype == torch.bfloat16 and p.device.type == "meta" for p in modules["transformer"].parameters())
    transformer = load_config(family.configs, "transformer")
    assert (transformer["num_layers"], transformer["num_attention_heads"], transformer["attention_head_dim"]) == (48, 32, 128)
    if family.name == "ltx-2.5":
        assert 5.0 < billions(modules["prompt_enhancer"]) < 5.2  # gemma-4-E2B-it


def test_component_geometry_matches_what_the_engine_plans_for(family_modules) -> None:
    family, modules = family_modules
    vae = modules["vae"]
    assert (vae.spatial_compression_ratio, vae.temporal_compression_ratio) == (32, 8)
    assert modules["vocoder"].config.output_sampling_rate == (24000 if family.name == "ltx-2" else 48000)
    assert modules["latent_upsampler"].config.spatial_upsample and not modules["latent_upsampler"].config.temporal_upsample
    assert modules["latent_upsampler"].config.in_channels == vae.config.latent_channels
    assert modules["transformer"].config.num_layers > max(family.pro.guidance.stg_blocks)


@pytest.mark.whole  # full-size configs built at random: in `make test`, not the fast lane
def test_random_full_loads_as_an_engine(tiny_cache) -> None:
    engine = Ltx2Engine.load("random-full", family="ltx-2.5", device="meta", cache_dir=tiny_cache,
                             options=RuntimeOptions(dtype="bfloat16"))
    info = engine.info.describe()
    assert info["weights"] == "random-full" and info["random_weights"] is True and "noise" in info["note"]
    assert info["family"] == "ltx-2.5" and info["prompt_enhancer"] is True
    assert engine.pipe.get_list_adapters() == {"transformer": ["distilled"]}
    assert lora_rank(engine.family) == 450
    # Full size, not tiny: the contract's sizes on the 64 px grid, the reference's 30 stage-1 steps for pro.
    from reelserve.catalog import PRO
    from reelserve.engines.base import GenerationSpec

    plan = engine.plan(GenerationSpec(recipe=PRO, prompt="x", negative_prompt=None, duration_seconds=5,
                                      aspect_ratio="16:9", cfg_scale=0.5, sound=True, seed=0))
    assert (plan.render_width, plan.render_height, plan.steps) == (1920, 1088, 30)
