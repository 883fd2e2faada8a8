"""Ltx2Engine on tiny random weights: the real LTX2Pipeline, loaded through from_pretrained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reelserve.catalog import PRO, STANDARD
from reelserve.engines.base import GenerationSpec
from reelserve.engines.ltx2 import components
from reelserve.engines.ltx2.families import FAMILIES, LTX_2_5, STAGE_2_SIGMAS
from reelserve.engines.ltx2.plan import FULL_SCALE, plan_for, video_cfg
from reelserve.engines.ltx2.tiny import tiny_weights_dir


def spec(recipe=STANDARD, **kw) -> GenerationSpec:
    values = dict(recipe=recipe, prompt="a red kite over the sea", negative_prompt=None, duration_seconds=3,
                  aspect_ratio="16:9", cfg_scale=0.5, sound=True, seed=7, enhance_prompt=False)
    values.update(kw)
    return GenerationSpec(**values)


@pytest.mark.parametrize("name,text_encoder,vocoder,enhancer", [
    ("ltx-2", "Gemma3ForConditionalGeneration", "LTX2Vocoder", None),
    ("ltx-2.3", "Gemma3ForConditionalGeneration", "LTX2VocoderWithBWE", None),
    ("ltx-2.5", "Gemma4UnifiedForConditionalGeneration", "LTX2VocoderWithBWE", "Gemma4ForConditionalGeneration"),
])
def test_tiny_checkpoint_is_a_real_diffusers_checkpoint_of_its_family(tiny_cache, name, text_encoder, vocoder,
                                                                       enhancer) -> None:
    folder = tiny_weights_dir(tiny_cache, FAMILIES[name])
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "LTX2Pipeline"
    assert index["transformer"] == ["diffusers", "LTX2VideoTransformer3DModel"]
    assert index["text_encoder"][1] == text_encoder == FAMILIES[name].text_encoder
    assert index["vocoder"][1] == vocoder and (index.get("prompt_enhancer") or [None, None])[1] == enhancer
    assert (folder / FAMILIES[name].lora_weight_name).exists() and (folder / "latent_upsampler").is_dir()
    vae = json.loads((folder / "vae" / "config.json").read_text())
    assert (vae["spatial_compression_ratio"], vae["temporal_compression_ratio"], vae["patch_size"]) == (32, 8, 4)
    # The family's own switches survive the shrink: gated attention and its feed-forward biases.
    real = json.loads((Path(components.CONFIGS) / FAMILIES[name].configs / "transformer" / "config.json").read_text())
    tiny = json.loads((folder / "transformer" / "config.json").read_text())
    assert all(tiny[k] == real[k] for k in ("gated_attn", "cross_attn_mod", "ff_bias", "rope_type") if k in real)


def test_engine_reports_random_weights(tiny_engine) -> None:
    info = tiny_engine.info.describe()
    assert info["random_weights"] is True and info["weights"] == "tiny" and "noise" in info["note"]
    assert info["family"] == "ltx-2.5" and info["prompt_enhancer"] is True and info["memory_plan"] == "all_resident"


@pytest.mark.parametrize("recipe,aspect,size", [
    (STANDARD, "16:9", (256, 144)), (STANDARD, "9:16", (144, 256)), (STANDARD, "1:1", (192, 192)),
    (PRO, "16:9", (320, 180)), (PRO, "9:16", (180, 320)), (PRO, "1:1", (240, 240)),
])
def test_sizes_follow_tier_and_aspect(tiny_engine, recipe, aspect, size) -> None:
    clip = tiny_engine.generate(spec(recipe, aspect_ratio=aspect))
    assert (clip.width, clip.height) == size
    assert clip.width / clip.height == pytest.approx(recipe.sizes[aspect][0] / recipe.sizes[aspect][1], rel=0.02)


@pytest.mark.parametrize("duration", [3, 5, 7])
def test_duration_and_audio_length_are_exact(tiny_engine, duration) -> None:
    clip = tiny_engine.generate(spec(duration_seconds=duration))
    assert clip.frames.shape[0] == duration * 24 and clip.fps == 24
    assert clip.frames.dtype == np.uint8 and clip.frames.shape[-1] == 3
    assert clip.audio.shape == (2, duration * clip.sample_rate) and clip.sample_rate == 48000  # LTX-2.5's vocoder
    assert np.abs(clip.audio).max() > 0  # the vocoder really produced sound, not padding


def test_sound_off_gives_no_audio(tiny_engine) -> None:
    clip = tiny_engine.generate(spec(sound=False))
    assert clip.audio is None and clip.sample_rate is None


def test_real_sizes_are_planned_on_the_latent_grid() -> None:
    # Planning is pure: the full scale (a real checkpoint's) is planned here without generating anything.
    plan = plan_for(spec(STANDARD, duration_seconds=5), FULL_SCALE, LTX_2_5.standard)
    # Stage 2 doubles stage 1, so the render size is on a 64 px grid: 1280x768 from 640x384.
    assert (plan.width, plan.height, plan.render_width, plan.render_height) == (1280, 720, 1280, 768)
    assert plan.stage1_size == (640, 384) and (plan.steps, plan.refine_steps) == (8, 3)
    assert (plan.num_frames, plan.render_frames) == (120, 121)
    plan = plan_for(spec(PRO, aspect_ratio="9:16"), FULL_SCALE, LTX_2_5.pro)
    assert (plan.width, plan.height, plan.render_width, plan.render_height) == (1080, 1920, 1088, 1920)
    assert plan.stage1_size == (544, 960) and (plan.steps, plan.refine_steps) == (30, 3)
    assert plan.refine_sigmas == STAGE_2_SIGMAS


def test_cfg_mapping_is_monotonic_and_centred_on_the_reference() -> None:
    pro = LTX_2_5.pro.cfg
    assert (video_cfg(pro, 0.0), video_cfg(pro, 0.5), video_cfg(pro, 1.0)) == (2.0, 3.0, 5.0)
    values = [video_cfg(pro, c / 20) for c in range(21)]
    assert values == sorted(values)


def test_progress_is_reported_per_step(tiny_engine) -> None:
    seen: list[float] = []
    tiny_engine.generate(spec(), on_progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == 100.0


def test_multi_shot_cuts_land_on_the_planned_frames(tiny_engine) -> None:
    shots = (("a door opens", 1), ("a bird flies", 2))
    whole = tiny_engine.generate(spec(duration_seconds=3, multi_prompt=shots))
    assert whole.frames.shape[0] == 72 and whole.audio.shape == (2, 3 * 48000)
    # Each shot is its own generation (seed + shot index): rendered alone, it matches its slice exactly.
    second = tiny_engine.generate(spec(duration_seconds=2, seed=8, multi_prompt=(shots[1],)))
    np.testing.assert_array_equal(whole.frames[24:], second.frames)


def test_progress_runs_across_all_shots(tiny_engine) -> None:
    seen: list[float] = []
    shots = (("a", 1), ("b", 1), ("c", 1))
    plan = tiny_engine.plan(spec())
    tiny_engine.generate(spec(duration_seconds=3, multi_prompt=shots), on_progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 100.0 and len(seen) == 3 * (plan.steps + plan.refine_steps)


def test_sound_off_skips_the_audio_decoder_and_vocoder(tiny_engine, monkeypatch) -> None:
    calls: list[str] = []
    audio_vae = tiny_engine.pipe.audio_vae
    real_decode = audio_vae.decode
    monkeypatch.setattr(audio_vae, "decode", lambda *a, **k: calls.append("audio_vae.decode") or real_decode(*a, **k))
    hook = tiny_engine.pipe.vocoder.register_forward_hook(lambda *_: calls.append("vocoder"))
    try:
        silent = tiny_engine.generate(spec(sound=False))
        assert calls == []
        loud = tiny_engine.generate(spec(sound=True))
        assert calls == ["audio_vae.decode", "vocoder"]
    finally:
        hook.remove()
    # Decoding only the video gives exactly the frames the full pipeline gives.
    np.testing.assert_array_equal(silent.frames, loud.frames)


def test_frames_are_converted_on_the_device_as_the_numpy_path_did_within_one_level() -> None:
    """frames_to_uint8 denormalizes, crops and rounds where the frames are, in one pass; the pixels are what
    diffusers' postprocess plus the numpy conversion gave, within one level."""
    import numpy as np
    import torch
    from diffusers.video_processor import VideoProcessor

    from reelserve.engines.ltx2.engine import frames_to_uint8

    generator = torch.Generator().manual_seed(3)
    video = torch.rand((3, 9, 40, 64), generator=generator) * 2.4 - 1.2  # a little outside -1..1, as decoders give
    video[0, 0, 0, :6] = torch.tensor([-1.0, -1 + 1 / 255, -1 + 3 / 255, 1 - 1 / 255, 1.0, 0.0])  # rounding edges
    before = VideoProcessor(vae_scale_factor=32).postprocess_video(video[None], output_type="np")[0][:7]
    expected = (np.clip(before, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)[:, 4:36, 8:56]
    got = frames_to_uint8(video, num_frames=7, width=48, height=32)
    assert got.dtype == np.uint8 and got.shape == (7, 32, 48, 3) and got.flags["C_CONTIGUOUS"]
    assert np.abs(got.astype(int) - expected).max() <= 1
    assert (got != expected).mean() < 1e-3  # and nearly always exactly the same


