"""GPU settings: each one is really applied to the modules (checked on CPU; bench/engine.py times them)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reelserve.catalog import STANDARD
from reelserve.engines.base import GenerationSpec
from reelserve.engines.ltx2 import Ltx2Engine
from reelserve.engines.runtime import RuntimeOptions
from reelserve.errors import ConfigurationError


def spec() -> GenerationSpec:
    return GenerationSpec(recipe=STANDARD, prompt="a paper boat", negative_prompt="blur", duration_seconds=3,
                          aspect_ratio="1:1", cfg_scale=0.5, sound=True, seed=5)


def load(tiny_cache, **options) -> Ltx2Engine:
    return Ltx2Engine.load("tiny", device="cpu", cache_dir=tiny_cache,
                           options=RuntimeOptions(**options))


@pytest.mark.parametrize("name,device,expected", [
    ("auto", "cpu", torch.float32), ("auto", "cuda", torch.bfloat16), ("auto", "cuda:1", torch.bfloat16),
    ("bfloat16", "cpu", torch.bfloat16), ("float16", "cuda", torch.float16), ("float32", "cuda", torch.float32),
])
def test_dtype_resolution(name, device, expected) -> None:
    assert RuntimeOptions(dtype=name).torch_dtype(device) is expected


def test_dtype_is_applied_to_every_component(tiny_cache) -> None:
    engine = load(tiny_cache, dtype="bfloat16")
    for name in ("transformer", "vae", "audio_vae", "text_encoder", "connectors", "vocoder"):
        assert getattr(engine.pipe, name).dtype == torch.bfloat16, name
    assert engine.upsample_pipe.latent_upsampler.dtype == torch.bfloat16
    assert engine.info.dtype == "bfloat16"


def test_unknown_dtype_and_attention_backend_are_configuration_errors(tiny_cache) -> None:
    with pytest.raises(ConfigurationError, match="dtype"):
        RuntimeOptions(dtype="float8").torch_dtype("cpu")
    with pytest.raises(ConfigurationError, match="attention_backend 'warp-drive'"):
        load(tiny_cache, attention_backend="warp-drive")


def test_defaults_apply_nothing_on_cpu(tiny_engine) -> None:
    assert tiny_engine.info.settings == ()
    assert tiny_engine.pipe.vae.use_tiling is False


def test_every_setting_is_applied_and_reported(tiny_cache) -> None:
    engine = load(tiny_cache, attention_backend="native", compile=True, vae_tiling=True,
                  offload_text_encoder=True, fp8=True)
    transformer = engine.pipe.transformer
    assert engine.info.settings == ("fp8_layerwise_casting", "offload_text_encoder", "attention_backend=native",
                                    "vae_tiling", "compile_repeated_blocks")
    assert engine.info.describe()["settings"] == list(engine.info.settings)
    # fp8: the weights are stored in float8 (the saving); norms and embeddings stay as they were.
    assert transformer.transformer_blocks[0].attn1.to_q.base_layer.weight.dtype == torch.float8_e4m3fn
    # The attention backend is set on every attention processor.
    backends = {getattr(m.processor, "_attention_backend", None) for m in transformer.modules() if hasattr(m, "processor")}
    assert backends == {"native"}
    # Each repeated block (not the whole model) is compiled, so one graph serves all of them.
    blocks = transformer.transformer_blocks
    assert all(block._compiled_call_impl is not None for block in blocks)
    assert transformer._compiled_call_impl is None
    assert engine.pipe.vae.use_tiling is True


def test_fp8_tiling_and_offload_still_generate(tiny_cache, tiny_engine) -> None:
    engine = load(tiny_cache, fp8=True, vae_tiling=True, offload_text_encoder=True, attention_backend="native")
    clip = engine.generate(spec())
    assert clip.frames.shape == (72, 192, 192, 3) and clip.audio.shape == (2, 3 * 48000)
    # fp8 storage rounds the weights, so the frames differ a little from full precision.
    reference = tiny_engine.generate(spec())
    assert not np.array_equal(clip.frames, reference.frames)


def test_offloaded_text_encoder_visits_the_device_only_to_encode(tiny_cache, monkeypatch) -> None:
    engine = load(tiny_cache, offload_text_encoder=True)
    engine.device = "meta"  # a stand-in for CUDA: every move is recorded, none is made
    moves: list[str] = []
    monkeypatch.setattr(engine.pipe.text_encoder, "to", lambda device: moves.append(str(device)))
    monkeypatch.setattr(engine.pipe, "encode_prompt", lambda **kw: moves.append("encode") or (None,) * 4)
    engine._encode("a prompt", None)
    assert moves == ["meta", "encode", "cpu"]


def test_an_offloaded_prompt_enhancer_visits_the_device_only_to_enhance(tiny_cache, monkeypatch) -> None:
    engine = load(tiny_cache, offload_text_encoder=True)
    assert "offload_text_encoder" in engine.info.settings
    moves: list[str] = []
    monkeypatch.setattr(engine.pipe.prompt_enhancer, "to", lambda device: moves.append(str(device)))
    monkeypatch.setattr(engine.pipe, "enhance_prompt", lambda **kw: moves.append("enhance") or ["a rewrite"])
    assert engine._enhance("a prompt", 0) == "a rewrite"
    assert moves == ["cpu", "enhance", "cpu"]  # to the device ("cpu" here), used, then back to the CPU
