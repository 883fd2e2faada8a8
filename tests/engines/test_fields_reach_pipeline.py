"""Every field changes what the real pipeline is asked for (a spy records the call and then runs it)."""

from __future__ import annotations

import numpy as np
import pytest

from reelserve.catalog import STANDARD
from reelserve.engines.base import GenerationSpec


def spec(**kw) -> GenerationSpec:
    values = dict(recipe=STANDARD, prompt="a lantern in fog", negative_prompt=None, duration_seconds=3,
                  aspect_ratio="1:1", cfg_scale=0.5, sound=False, seed=3)
    values.update(kw)
    return GenerationSpec(**values)


@pytest.fixture
def calls(tiny_engine, monkeypatch):
    seen: list[dict] = []
    pipe_class = type(tiny_engine.pipe)
    real_call = pipe_class.__call__

    def spy(self, *args, **kwargs):
        seen.append(kwargs)
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(pipe_class, "__call__", spy)
    return seen


@pytest.mark.parametrize("cfg,video,audio", [(0.0, 1.0, 1.0), (0.5, 4.0, 7.0), (1.0, 7.0, 13.0)])
def test_cfg_scale_maps_onto_pipeline_guidance(tiny_engine, calls, cfg, video, audio) -> None:
    tiny_engine.generate(spec(cfg_scale=cfg))
    assert (calls[-1]["guidance_scale"], calls[-1]["audio_guidance_scale"]) == (video, audio)


def test_cfg_zero_skips_the_guidance_pass(tiny_engine, calls) -> None:
    tiny_engine.generate(spec(cfg_scale=0.0))
    assert tiny_engine.pipe.do_classifier_free_guidance is False
    tiny_engine.generate(spec(cfg_scale=0.5))
    assert tiny_engine.pipe.do_classifier_free_guidance is True


def test_negative_prompt_reaches_the_pipeline_and_changes_the_video(tiny_engine, calls) -> None:
    plain = tiny_engine.generate(spec())
    avoided = tiny_engine.generate(spec(negative_prompt="blurry, low quality"))
    assert calls[-1]["negative_prompt"] == "blurry, low quality"
    assert not np.array_equal(plain.frames, avoided.frames)


def test_prompt_changes_the_video(tiny_engine) -> None:
    assert not np.array_equal(tiny_engine.generate(spec()).frames,
                              tiny_engine.generate(spec(prompt="a desert at noon")).frames)


def test_same_seed_same_frames_other_seed_other_frames(tiny_engine) -> None:
    first, again = tiny_engine.generate(spec(seed=42)), tiny_engine.generate(spec(seed=42))
    np.testing.assert_array_equal(first.frames, again.frames)
    assert not np.array_equal(first.frames, tiny_engine.generate(spec(seed=43)).frames)
