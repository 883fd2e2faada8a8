"""Start and end images on tiny random weights: what the frames depend on, and where the conditions reach the real
pipeline in every stage of every family (ltx-pipelines ti2vid_two_stages.py, Lightricks/LTX-2 @ 400fd31).

Random weights cannot make a frame look like an image. What they can show: the latent frame the decoder turns
into the first frame is the start image's encoding whatever the prompt and seed; another start image changes the
first frame; the end image changes the last frame; the frames between follow the prompt. The decoded first frame
itself also mixes the next latent frames in, because LTX's video decoder is not causal (decoder_causal false in
every family's config), so on random weights it cannot equal across prompts; that is asserted on the latent.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from reelserve.catalog import STANDARD
from reelserve.engines.base import GenerationSpec
from reelserve.engines.ltx2 import Ltx2Engine
from reelserve.engines.ltx2.conditioning import KeyframeConditionPipeline, fit
from reelserve.engines.ltx2.families import LTX_2_5
from reelserve.engines.ltx2.plan import FULL_SCALE, plan_for

FPS = 24


def image(seed: int, size: tuple[int, int] = (300, 200)) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def spec(**kw) -> GenerationSpec:
    values = dict(recipe=STANDARD, prompt="a red kite over the sea", negative_prompt=None, duration_seconds=1,
                  aspect_ratio="16:9", cfg_scale=0.5, sound=False, seed=7, enhance_prompt=False)
    values.update(kw)
    return GenerationSpec(**values)


def mean_diff(a, b) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).mean())


@pytest.fixture(scope="module")
def renders(tiny_engine):
    """Four generations and the latents each handed the video decoder: a reference, then one change each."""
    decoded: list = []
    vae = tiny_engine.pipe.vae
    real_decode = vae.decode
    vae.decode = lambda latents, *a, **k: decoded.append(latents.float().clone()) or real_decode(latents, *a, **k)
    try:
        runs = {
            "reference": spec(start_image=image(1), end_image=image(2)),
            "other_prompt_and_seed": spec(start_image=image(1), end_image=image(2), prompt="a brass band", seed=99),
            "other_start": spec(start_image=image(3), end_image=image(2)),
            "other_end": spec(start_image=image(1), end_image=image(4)),
        }
        clips = {name: tiny_engine.generate(s) for name, s in runs.items()}
    finally:
        vae.decode = real_decode
    return {name: (clip.frames, latents) for (name, clip), latents in zip(clips.items(), decoded)}


def test_first_frame_follows_the_start_image_not_the_prompt_or_seed(renders) -> None:
    frames, latents = renders["reference"]
    _, same_image = renders["other_prompt_and_seed"]
    other_frames, other_image = renders["other_start"]
    # Latent frame 0, which the decoder makes the first frame from: the start image's, whatever prompt and seed.
    first = latents[:, :, 0]
    assert mean_diff(first, same_image[:, :, 0]) < 1e-5, f"{mean_diff(first, same_image[:, :, 0])} apart"
    assert mean_diff(first, other_image[:, :, 0]) > 0.05 * float(first.abs().mean()), "another image, same latent"
    assert mean_diff(frames[0], other_frames[0]) > 1.0, "another start image left the first frame as it was"


def test_last_frame_follows_the_end_image_and_the_frames_between_the_prompt(renders) -> None:
    frames = renders["reference"][0]
    other_end = renders["other_end"][0]
    other_prompt = renders["other_prompt_and_seed"][0]
    assert frames.shape[0] == 24 and other_end.shape == frames.shape
    assert mean_diff(frames[-1], other_end[-1]) > 0, "the end image does not reach the last frame"
    middle = frames.shape[0] // 2
    assert mean_diff(frames[middle], other_prompt[middle]) > 5.0, "the prompt does not move the middle frame"
    # The images' change moves the middle frame far less than the prompt and seed's.
    assert mean_diff(frames[middle], other_end[middle]) < mean_diff(frames[middle], other_prompt[middle]) / 4


@pytest.fixture(scope="module")
def family_engines(tiny_cache, tiny_engine):
    return {"ltx-2.5": tiny_engine, **{name: Ltx2Engine.load("tiny", family=name, device="cpu", cache_dir=tiny_cache)
                                       for name in ("ltx-2", "ltx-2.3")}}


@pytest.mark.parametrize("family", ["ltx-2", "ltx-2.3", "ltx-2.5"])
def test_both_images_condition_both_stages_at_the_reference_positions(family_engines, family) -> None:
    engine = family_engines[family]
    calls: list[dict] = []
    handle = engine.pipe.transformer.register_forward_pre_hook(
        lambda m, a, kw: calls.append({"tokens": kw["hidden_states"].shape[1], "timestep": kw["timestep"][0].clone(),
                                       "coords": kw["video_coords"][0, 0].clone(), "grid": (kw["num_frames"],
                                       kw["height"], kw["width"])}), with_kwargs=True)
    try:
        engine.generate(spec(start_image=image(1), end_image=image(2)))
    finally:
        handle.remove()
    plan = engine.plan(spec())
    assert len(calls) == plan.steps + plan.refine_steps, f"{len(calls)} transformer calls"
    # The generated tokens run the plan's own sigmas in both stages: the engine's scheduler, not a shifted one.
    sigmas = [float(call["timestep"][call["grid"][1] * call["grid"][2]]) / 1000 for call in calls]
    assert np.allclose(sigmas, (*plan.sigmas, *plan.refine_sigmas), atol=1e-4), f"sigmas {sigmas}"
    grids = {call["grid"] for call in calls}
    assert len(grids) == 2, f"stage grids {grids}: stage 1 and stage 2 both conditioned"
    for call in calls:
        frames, height, width = call["grid"]
        base, cells = frames * height * width, height * width
        # The start image replaces latent frame 0: clean (timestep 0) at every step.
        assert float(call["timestep"][:cells].abs().max()) == 0.0
        assert float(call["timestep"][cells:base].min()) > 0.0, "frames between the images are being denoised"
        # The end image: one latent frame of extra clean tokens at [23, 24) frames, in seconds, as ltx-core's
        # VideoConditionByKeyframeIndex places an image at the clip's last frame (24 frames: index 23).
        assert call["tokens"] == base + cells, f"{call['tokens']} tokens for a {frames}x{height}x{width} grid"
        assert float(call["timestep"][base:].abs().max()) == 0.0
        start, end = call["coords"][base:, 0], call["coords"][base:, 1]
        assert np.allclose(start.float().numpy(), 23 / FPS) and np.allclose(end.float().numpy(), 24 / FPS), (
            f"keyframe at {float(start[0]) * FPS:.2f}..{float(end[0]) * FPS:.2f} frames")


def test_multi_shot_start_image_on_the_first_shot_end_image_on_the_last(tiny_engine, monkeypatch) -> None:
    seen: list[tuple] = []
    conditioned, plain = KeyframeConditionPipeline.__call__, type(tiny_engine.pipe).__call__

    def spy_conditioned(self, *args, **kwargs):
        seen.append(tuple((type(c).__name__, c.index, getattr(c, "frame", 0)) for c in kwargs["conditions"]))
        return conditioned(self, *args, **kwargs)

    def spy_plain(self, *args, **kwargs):
        seen.append(())
        return plain(self, *args, **kwargs)

    monkeypatch.setattr(KeyframeConditionPipeline, "__call__", spy_conditioned)
    monkeypatch.setattr(type(tiny_engine.pipe), "__call__", spy_plain)
    shots = (("a door opens", 1), ("a bird flies", 1), ("the sea at night", 1))
    clip = tiny_engine.generate(spec(duration_seconds=3, multi_prompt=shots, start_image=image(1),
                                     end_image=image(2)))
    assert clip.frames.shape[0] == 72
    start = (("LTX2VideoCondition", 0, 0),)
    end = (("Keyframe", 3, 23),)  # the last shot's frame 23, in its latent frame 3
    assert seen == [start, start, (), (), end, end], f"conditions per stage: {seen}"


def test_no_image_keeps_the_text_to_video_pipeline(tiny_engine, monkeypatch) -> None:
    called: list[str] = []
    conditioned = KeyframeConditionPipeline.__call__
    monkeypatch.setattr(KeyframeConditionPipeline, "__call__",
                        lambda self, *a, **k: called.append("conditioned") or conditioned(self, *a, **k))
    tiny_engine.generate(spec())
    assert called == []
    # The condition pipeline runs the very components and scheduler the engine loaded and set up, as loaded.
    for name, part in tiny_engine.pipe.components.items():
        assert getattr(tiny_engine.conditioned, name) is part, name


def test_images_fit_the_delivered_frame_and_pad_to_the_render() -> None:
    plan = plan_for(spec(duration_seconds=5), FULL_SCALE, LTX_2_5.standard)  # 1280x720 delivered, 1280x768 render
    source = np.zeros((900, 2000, 3), dtype=np.uint8)
    source[:, 200:1800] = 255  # the 16:9 centre, 1600x900, is white; what a centre crop drops is black
    fitted = np.asarray(fit(Image.fromarray(source), plan))
    scale = 900 / 720
    assert fitted.shape[:2] == (round(768 * scale), round(1280 * scale)), fitted.shape
    # The delivered frame is the image's 16:9 centre, and the padding reflects it: nothing of the cropped sides.
    assert fitted.min() == 255, "the black sides a centre crop drops came back"
    # Each stage resizes the fitted image once, to its whole frame: the render's aspect.
    assert abs(fitted.shape[1] / fitted.shape[0] - 1280 / 768) < 0.01
