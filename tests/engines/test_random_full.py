"""`--weights random-full`: the configs in the repo build LTX-2 19B's real architecture (checked on `meta`)."""

from __future__ import annotations

import pytest
import torch

from reelserve.engines.ltx2 import Ltx2Engine
from reelserve.engines.ltx2.random_full import build_modules, load_config
from reelserve.engines.runtime import RuntimeOptions


def billions(module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e9


@pytest.fixture(scope="module")
def modules():
    return build_modules(dtype=torch.bfloat16, device="meta")  # shapes only: no memory, no weights


def test_configs_build_the_full_size_architecture(modules) -> None:
    assert 18.5 < billions(modules["transformer"]) < 19.5  # "LTX-2 19B"
    assert 12.0 < billions(modules["text_encoder"]) < 12.5  # Gemma 3 12B
    assert all(p.dtype == torch.bfloat16 and p.device.type == "meta" for p in modules["transformer"].parameters())
    transformer = load_config("transformer")
    assert (transformer["num_layers"], transformer["num_attention_heads"], transformer["attention_head_dim"]) == (48, 32, 128)
    # The text projection takes every Gemma hidden state: 48 layers + the embeddings.
    assert load_config("connectors")["text_proj_in_factor"] == load_config("text_encoder")["text_config"]["num_hidden_layers"] + 1


def test_component_geometry_matches_what_the_engine_plans_for(modules) -> None:
    vae = modules["vae"]
    assert (vae.spatial_compression_ratio, vae.temporal_compression_ratio) == (32, 8)
    assert modules["vocoder"].config.output_sampling_rate == 24000
    assert modules["latent_upsampler"].config.spatial_upsample and not modules["latent_upsampler"].config.temporal_upsample
    assert modules["latent_upsampler"].config.in_channels == vae.config.latent_channels


def test_random_full_loads_as_an_engine(tiny_cache) -> None:
    engine = Ltx2Engine.load("random-full", device="meta", cache_dir=tiny_cache, checkpoint="Lightricks/LTX-2",
                             options=RuntimeOptions(dtype="bfloat16"))
    info = engine.info.describe()
    assert info["weights"] == "random-full" and info["random_weights"] is True and "noise" in info["note"]
    assert engine.pipe.get_list_adapters() == {"transformer": ["distilled"]}
    # Full size, not tiny: the contract's sizes on the 64 px grid, 40 stage-1 steps for pro.
    from reelserve.catalog import PRO
    from reelserve.engines.base import GenerationSpec

    plan = engine.plan(GenerationSpec(recipe=PRO, prompt="x", negative_prompt=None, duration_seconds=5,
                                      aspect_ratio="16:9", cfg_scale=0.5, sound=True, seed=0))
    assert (plan.render_width, plan.render_height, plan.steps) == (1920, 1088, 40)
