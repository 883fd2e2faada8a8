"""What reelserve hands diffusers, per family and tier, against a table typed from Lightricks' references; and
every request field changes what the real pipeline is asked for (a spy records each call, then runs it)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reelserve.catalog import PRO, STANDARD
from reelserve.engines.base import GenerationSpec
from reelserve.engines.ltx2 import Ltx2Engine

# ltx-pipelines (Lightricks/LTX-2 @ 400fd31), utils/constants.py and ti2vid_two_stages.py / distilled.py,
# typed here by hand from the source rather than imported from families.py, so that a wrong number in either
# place fails: (stage-1 steps, STG block, use_cross_timestep).
REFERENCE = {"ltx-2": (40, 29, False), "ltx-2.3": (30, 28, True), "ltx-2.5": (30, 28, True)}
PRO_GUIDANCE = {  # MultiModalGuiderParams of LTX_2_PARAMS / LTX_2_3_PARAMS, video and audio
    "guidance_scale": 3.0, "audio_guidance_scale": 7.0, "stg_scale": 1.0, "audio_stg_scale": 1.0,
    "modality_scale": 3.0, "audio_modality_scale": 3.0, "guidance_rescale": 0.7, "audio_guidance_rescale": 0.7,
}
UNGUIDED = {"guidance_scale": 1.0, "audio_guidance_scale": 1.0, "stg_scale": 0.0, "audio_stg_scale": 0.0,
            "modality_scale": 1.0, "audio_modality_scale": 1.0, "guidance_rescale": 0.0,
            "audio_guidance_rescale": 0.0, "spatio_temporal_guidance_blocks": None}
DISTILLED = [1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875]
STAGE_2 = [0.909375, 0.725, 0.421875]
NEGATIVE_HEAD = "has_subtitles, has_blurbox, transition from black"  # DEFAULT_NEGATIVE_PROMPT at 400fd31


def ltx2_scheduler(steps: int) -> list[float]:
    """ltx-core LTX2Scheduler.execute(steps) with no latent, transcribed: 4096 tokens, stretch to 0.1."""
    shift = 4096 * (2.05 - 0.95) / (4096 - 1024) + 0.95 - (2.05 - 0.95) / (4096 - 1024) * 1024
    sigmas = [1.0 - i / steps for i in range(steps + 1)]
    sigmas = [math.exp(shift) / (math.exp(shift) + (1 / s - 1)) if s != 0 else 0.0 for s in sigmas]
    nonzero = [s for s in sigmas if s != 0]
    factor = (1.0 - nonzero[-1]) / (1.0 - 0.1)
    return [1.0 - (1.0 - s) / factor for s in nonzero]


def spec(**kw) -> GenerationSpec:
    values = dict(recipe=STANDARD, prompt="a lantern in fog", negative_prompt=None, duration_seconds=3,
                  aspect_ratio="1:1", cfg_scale=0.5, sound=False, seed=3, enhance_prompt=False)
    values.update(kw)
    return GenerationSpec(**values)


@pytest.fixture(scope="module")
def engines(tiny_cache):
    return {name: Ltx2Engine.load("tiny", family=name, device="cpu", cache_dir=tiny_cache) for name in REFERENCE}


def spy_on(engine, monkeypatch) -> list[dict]:
    """Each pipeline call's kwargs, plus what the pipeline made of them and whether the LoRA was on."""
    seen: list[dict] = []
    pipe_class = type(engine.pipe)
    real_call, real_encode = pipe_class.__call__, engine.pipe.encode_prompt
    encoded: list[str] = []

    def encode(**kw):
        if kw.get("prompt") is not None:  # the pipeline's own call passes our embeddings through
            encoded.append(kw["negative_prompt"] if kw["do_classifier_free_guidance"] else None)
        return real_encode(**kw)

    def spy(self, *args, **kwargs):
        lora_on = any(not getattr(m, "disable_adapters", True) for m in self.transformer.modules() if hasattr(m, "lora_A"))
        output = real_call(self, *args, **kwargs)
        seen.append({**kwargs, "cfg_pass": self.do_classifier_free_guidance, "lora": lora_on,
                     "timesteps": self.scheduler.sigmas.tolist(), "negative": encoded[-1]})
        return output

    monkeypatch.setattr(pipe_class, "__call__", spy)
    monkeypatch.setattr(engine.pipe, "encode_prompt", encode)
    return seen


@pytest.mark.parametrize("family", sorted(REFERENCE))
def test_pro_runs_the_two_stage_reference(engines, monkeypatch, family) -> None:
    engine = engines[family]
    steps, stg_block, cross_timestep = REFERENCE[family]
    calls = spy_on(engine, monkeypatch)
    plan = engine.plan(spec(recipe=PRO))
    # Full size: the reference's step count on the schedule of LTX2Scheduler.execute(steps) with no latent.
    from reelserve.engines.ltx2.plan import FULL_SCALE, plan_for

    full = plan_for(spec(recipe=PRO), FULL_SCALE, engine.family.pro)
    assert full.steps == steps and full.sigmas == pytest.approx(ltx2_scheduler(steps), abs=1e-6)
    assert sum(s > 0.9 for s in full.sigmas) == (18 if steps == 40 else 13)  # the issue counted 18 of 40
    assert full.guidance.stg_blocks == (stg_block,)

    engine.generate(spec(recipe=PRO))
    stage1, stage2 = calls
    assert {k: stage1[k] for k in PRO_GUIDANCE} == PRO_GUIDANCE
    # The tiny transformer has 2 blocks: the reference block is mapped onto its last.
    assert stage1["spatio_temporal_guidance_blocks"] == [min(stg_block, engine.pipe.transformer.config.num_layers - 1)]
    assert stage1["sigmas"] == pytest.approx(ltx2_scheduler(plan.steps), abs=1e-6)
    assert stage1["timesteps"][:-1] == pytest.approx(stage1["sigmas"], abs=1e-6)  # used as given, then 0.0
    assert stage1["lora"] is False and stage1["cfg_pass"] is True
    assert stage1["negative"].startswith(NEGATIVE_HEAD)  # no negative_prompt: the reference's
    assert stage1["use_cross_timestep"] is cross_timestep and stage2["use_cross_timestep"] is cross_timestep
    _assert_refinement(stage2)


@pytest.mark.parametrize("family", sorted(REFERENCE))
def test_standard_runs_the_distilled_reference_unguided(engines, monkeypatch, family) -> None:
    engine = engines[family]
    calls = spy_on(engine, monkeypatch)
    engine.generate(spec(recipe=STANDARD, aspect_ratio="16:9"))
    stage1, stage2 = calls
    assert {k: stage1[k] for k in UNGUIDED} == UNGUIDED and stage1["cfg_pass"] is False
    assert stage1["negative"] is None  # unguided: no negative prompt is even encoded
    assert stage1["lora"] is True and stage1["sigmas"] == DISTILLED
    assert stage1["timesteps"][:-1] == pytest.approx(DISTILLED)
    assert (stage1["width"] * 2, stage1["height"] * 2) == (stage2["width"], stage2["height"]) == (256, 192)
    _assert_refinement(stage2)


def _assert_refinement(stage2: dict) -> None:
    """Stage 2: the distilled LoRA, re-noised to 0.909, its 3 sigmas, no guidance of any kind."""
    assert {k: stage2[k] for k in UNGUIDED} == UNGUIDED and stage2["cfg_pass"] is False
    assert stage2["lora"] is True and stage2["sigmas"] == STAGE_2 and stage2["noise_scale"] == STAGE_2[0]
    assert stage2["latents"] is not None and stage2["audio_latents"] is not None
    # The engine decodes what it keeps itself (each stage stops at latents): the pipeline's decode never runs.
    assert stage2["output_type"] == "latent"


@pytest.mark.parametrize("cfg,pro_video,standard_video", [
    (0.0, 2.0, 1.0), (0.25, 2.5, 1.0), (0.5, 3.0, 1.0), (0.75, 4.0, 2.5), (1.0, 5.0, 3.0),
])
def test_cfg_scale_maps_into_the_sanctioned_range(engines, monkeypatch, cfg, pro_video, standard_video) -> None:
    """Pro: multimodal-guidance.md's "typical values: 2.0-5.0", through the reference 3.0 at the default; audio
    stays at 7. Standard: unguided up to the default, then one guidance pass at 1 + 2 * cfg_scale (at most 3)."""
    engine = engines["ltx-2.5"]
    calls = spy_on(engine, monkeypatch)
    engine.generate(spec(recipe=PRO, cfg_scale=cfg))
    engine.generate(spec(recipe=STANDARD, cfg_scale=cfg))
    pro, standard = calls[0], calls[2]
    assert (pro["guidance_scale"], pro["audio_guidance_scale"]) == (pytest.approx(pro_video), 7.0)
    assert standard["guidance_scale"] == pytest.approx(standard_video)
    assert standard["audio_guidance_scale"] == pytest.approx(standard_video)
    assert standard["cfg_pass"] is (standard_video > 1)  # the pass and its cost only when it guides


def test_a_negative_prompt_on_standard_buys_a_guidance_pass(engines, monkeypatch) -> None:
    engine = engines["ltx-2.5"]
    calls = spy_on(engine, monkeypatch)
    plain = engine.generate(spec())
    avoided = engine.generate(spec(negative_prompt="blurry, low quality"))
    assert calls[0]["negative"] is None and calls[0]["cfg_pass"] is False
    assert calls[2]["negative"] == "blurry, low quality" and calls[2]["cfg_pass"] is True
    assert calls[2]["guidance_scale"] == 2.0
    assert not np.array_equal(plain.frames, avoided.frames)


def test_pro_decodes_stage_one_audio_and_standard_stage_two(engines, monkeypatch) -> None:
    """ti2vid_two_stages.py discards stage 2's audio; distilled.py keeps it."""
    engine = engines["ltx-2.5"]
    decoded: list = []
    real = engine._decode_audio
    monkeypatch.setattr(engine, "_decode_audio", lambda latents: decoded.append(latents) or real(latents))
    outputs: list = []
    real_call = type(engine.pipe).__call__
    monkeypatch.setattr(type(engine.pipe), "__call__", lambda self, *a, **k: outputs.append(real_call(self, *a, **k))
                        or outputs[-1])
    engine.generate(spec(recipe=PRO, sound=True))
    assert decoded[0] is outputs[0].audio
    engine.generate(spec(recipe=STANDARD, sound=True))
    assert decoded[1] is outputs[3].audio


def test_the_distilled_lora_changes_the_output(engines) -> None:
    from dataclasses import replace

    engine = engines["ltx-2"]
    distilled = engine.generate(spec(recipe=STANDARD))
    engine.family = replace(engine.family, standard=replace(engine.family.standard, distilled=False, steps=80))
    try:
        full = engine.generate(spec(recipe=STANDARD))
    finally:
        from reelserve.engines.ltx2.families import LTX_2

        engine.family = LTX_2
    assert not np.array_equal(full.frames, distilled.frames)


def test_prompt_changes_the_video(tiny_engine) -> None:
    assert not np.array_equal(tiny_engine.generate(spec()).frames,
                              tiny_engine.generate(spec(prompt="a desert at noon")).frames)


def test_same_seed_same_frames_other_seed_other_frames(tiny_engine) -> None:
    first, again = tiny_engine.generate(spec(seed=42)), tiny_engine.generate(spec(seed=42))
    np.testing.assert_array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, tiny_engine.generate(spec(seed=43)).frames)


def test_enhancement_rewrites_the_prompt_per_shot_and_changes_the_video(tiny_engine) -> None:
    """LTX-2.5 enhances by default; the request can turn it off. Each shot gets its own rewrite."""
    shots = (("a door opens", 1), ("a bird flies", 2))
    default = tiny_engine.generate(spec(enhance_prompt=None, multi_prompt=shots))
    off = tiny_engine.generate(spec(enhance_prompt=False, multi_prompt=shots))
    assert len(default.enhanced_prompts) == 2 and all(default.enhanced_prompts)
    assert default.enhanced_prompts[0] != default.enhanced_prompts[1]
    assert off.enhanced_prompts == (None, None)
    assert not np.array_equal(default.frames, off.frames)


def test_the_server_can_turn_enhancement_off(tiny_cache) -> None:
    engine = Ltx2Engine.load("tiny", device="cpu", cache_dir=tiny_cache, enhance_prompt=False)
    assert engine.generate(spec(enhance_prompt=None)).enhanced_prompts == (None,)
    assert engine.generate(spec(enhance_prompt=True)).enhanced_prompts != (None,)  # a request may still ask


def test_gemma_3_families_enhance_only_when_asked(engines) -> None:
    engine = engines["ltx-2.3"]
    assert engine.generate(spec(enhance_prompt=None)).enhanced_prompts == (None,)
    assert engine.generate(spec(enhance_prompt=True)).enhanced_prompts[0]
