"""Every field changes what the real pipeline is asked for (a spy records the call and then runs it)."""

from __future__ import annotations

import numpy as np
import pytest

from reelserve.catalog import PRO, STANDARD
from reelserve.engines.base import GenerationSpec


def spec(**kw) -> GenerationSpec:
    values = dict(recipe=STANDARD, prompt="a lantern in fog", negative_prompt=None, duration_seconds=3,
                  aspect_ratio="1:1", cfg_scale=0.5, sound=False, seed=3)
    values.update(kw)
    return GenerationSpec(**values)


@pytest.fixture
def calls(tiny_engine, monkeypatch):
    """Each pipeline call's kwargs, plus whether it ran the extra CFG pass and whether the LoRA was on."""
    seen: list[dict] = []
    pipe_class = type(tiny_engine.pipe)
    real_call = pipe_class.__call__

    def spy(self, *args, **kwargs):
        lora_on = any(getattr(m, "merged", None) is not None and not getattr(m, "disable_adapters", True)
                      for m in self.transformer.modules() if hasattr(m, "lora_A"))
        output = real_call(self, *args, **kwargs)
        seen.append({**kwargs, "cfg_pass": self.do_classifier_free_guidance, "lora": lora_on})
        return output

    monkeypatch.setattr(pipe_class, "__call__", spy)
    return seen


@pytest.mark.parametrize("recipe,cfg,video,audio", [
    (PRO, 0.0, 1.0, 1.0), (PRO, 0.5, 4.0, 7.0), (PRO, 1.0, 7.0, 13.0),
    (STANDARD, 0.0, 1.0, 1.0), (STANDARD, 0.5, 1.5, 1.5), (STANDARD, 1.0, 2.0, 2.0),
])
def test_cfg_scale_maps_onto_stage1_guidance(tiny_engine, calls, recipe, cfg, video, audio) -> None:
    tiny_engine.generate(spec(recipe=recipe, cfg_scale=cfg))
    stage1, stage2 = calls
    assert (stage1["guidance_scale"], stage1["audio_guidance_scale"]) == (video, audio)
    assert stage1["cfg_pass"] is (cfg > 0)  # cfg_scale 0 skips the extra guidance pass and its cost
    # The refinement always runs the distilled LoRA unguided, whatever the request's cfg_scale.
    assert (stage2["guidance_scale"], stage2["audio_guidance_scale"], stage2["cfg_pass"]) == (1.0, 1.0, False)


def test_recipes_run_their_stages(tiny_engine, calls) -> None:
    from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES, STAGE_2_DISTILLED_SIGMA_VALUES

    tiny_engine.generate(spec(recipe=STANDARD, aspect_ratio="16:9"))
    stage1, stage2 = calls
    # Standard: the distilled LoRA on its own 8-sigma schedule at half size, then 2x and 3 refining steps.
    assert stage1["lora"] is True and stage1["sigmas"] == DISTILLED_SIGMA_VALUES
    assert (stage1["width"] * 2, stage1["height"] * 2) == (stage2["width"], stage2["height"]) == (256, 192)
    assert stage2["lora"] is True and stage2["sigmas"] == STAGE_2_DISTILLED_SIGMA_VALUES
    assert stage2["noise_scale"] == STAGE_2_DISTILLED_SIGMA_VALUES[0] and stage2["latents"] is not None
    calls.clear()
    tiny_engine.generate(spec(recipe=PRO, aspect_ratio="16:9"))
    stage1, stage2 = calls
    # Pro: the full model (LoRA off) on the checkpoint's own schedule, then the same refinement.
    assert stage1["lora"] is False and stage1["sigmas"] is None and stage1["num_inference_steps"] == 4
    assert (stage2["width"], stage2["height"], stage2["lora"]) == (320, 192, True)


def test_the_distilled_lora_changes_the_output(tiny_engine) -> None:
    # Pro and standard differ in more than the LoRA, so compare one recipe with its stage 1 flipped.
    from dataclasses import replace

    full = tiny_engine.generate(spec(recipe=replace(STANDARD, distilled=False, num_inference_steps=80)))
    distilled = tiny_engine.generate(spec(recipe=STANDARD))
    assert not np.array_equal(full.frames, distilled.frames)


def test_negative_prompt_reaches_the_pipeline_and_changes_the_video(tiny_engine, calls, monkeypatch) -> None:
    encoded: list[str] = []
    real_encode = tiny_engine.pipe.encode_prompt

    def encode(**kw):
        if kw.get("prompt") is not None:  # the pipeline's own call just passes our embeddings through
            encoded.append(kw["negative_prompt"])
        return real_encode(**kw)

    monkeypatch.setattr(tiny_engine.pipe, "encode_prompt", encode)
    plain = tiny_engine.generate(spec())
    avoided = tiny_engine.generate(spec(negative_prompt="blurry, low quality"))
    assert encoded == ["", "blurry, low quality"]
    assert "negative_prompt_embeds" in calls[-2]  # stage 1 of the second request guides against it
    assert not np.array_equal(plain.frames, avoided.frames)


def test_prompt_changes_the_video(tiny_engine) -> None:
    assert not np.array_equal(tiny_engine.generate(spec()).frames,
                              tiny_engine.generate(spec(prompt="a desert at noon")).frames)


def test_same_seed_same_frames_other_seed_other_frames(tiny_engine) -> None:
    first, again = tiny_engine.generate(spec(seed=42)), tiny_engine.generate(spec(seed=42))
    np.testing.assert_array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, tiny_engine.generate(spec(seed=43)).frames)
