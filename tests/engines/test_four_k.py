"""The 4K tier: what the plan asks each stage for at full size, its tiles and decode tiling, and one tiny generation
through all three stages. The recipe is typed here from the references (Lightricks/LTX-2 @ 400fd31) rather than
imported, so that a wrong number in either place fails: ti2vid_two_stages.py for stages 1 and 2, hdr_ic_lora.py
(STAGE2_SIGMAS, _TILED_2F2H2W_OV8_6, DEFAULT_TEMPORAL_TILE / _OVERLAP) for the 4K refinement and decode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reelserve.catalog import UHD
from reelserve.engines.base import GenerationSpec
from reelserve.engines.ltx2.families import FAMILIES, Refine
from reelserve.engines.ltx2.plan import FULL_SCALE, plan_for
from reelserve.engines.ltx2.tiles import spans, tiles_for
from reelserve.engines.memory import FOUR_K_DECODE, decode_tiling

STAGE_1_STEPS = {"ltx-2": 40, "ltx-2.3": 30, "ltx-2.5": 30}  # LTX_2_PARAMS / LTX_2_3_PARAMS, as pro
STAGE_2 = (0.909375, 0.725, 0.421875)
STAGE_3 = (0.909375, 0.725)  # hdr_ic_lora STAGE2_SIGMAS [_S2[0], _S2[1], 0.0], the 0.0 appended by the scheduler


def spec(**kw) -> GenerationSpec:
    assert UHD.tier == "4k" and UHD.sizes == {"16:9": (3840, 2160), "9:16": (2160, 3840), "1:1": (2880, 2880)}
    values = dict(recipe=UHD, prompt="a glacier at dawn", negative_prompt=None, duration_seconds=5,
                  aspect_ratio="16:9", cfg_scale=0.5, sound=False, seed=5, enhance_prompt=False)
    values.update(kw)
    return GenerationSpec(**values)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("aspect,delivered,render,stage1,stage2", [
    ("16:9", (3840, 2160), (3840, 2176), (960, 544), (1920, 1088)),
    ("9:16", (2160, 3840), (2176, 3840), (544, 960), (1088, 1920)),
    ("1:1", (2880, 2880), (2944, 2944), (736, 736), (1472, 1472)),
])
def test_4k_plan_renders_three_stages_on_the_latent_grid(family, aspect, delivered, render, stage1, stage2) -> None:
    recipe = FAMILIES[family].recipe("4k")
    plan = plan_for(spec(aspect_ratio=aspect), FULL_SCALE, recipe)
    assert (plan.width, plan.height) == delivered and (plan.render_width, plan.render_height) == render
    assert plan.stage_count == 3 and plan.stage_size(1) == stage1 and plan.stage_size(2) == stage2
    assert plan.stage_size(3) == render and plan.stage1_size == stage1
    # Every stage's size is on the 32 px latent grid: the render on a 128 px one.
    assert all(size % 32 == 0 for stage in (1, 2, 3) for size in plan.stage_size(stage))
    # Stage 1 is the family's pro stage 1 (the full model, guided); then the two refinements.
    assert plan.steps == STAGE_1_STEPS[family] and plan.guidance == FAMILIES[family].pro.guidance
    assert [r.sigmas for r in plan.refines] == [STAGE_2, STAGE_3] and plan.refine_steps == 3
    assert (plan.refines[1].tiles, plan.refines[1].overlap) == ((2, 2), 6)
    assert plan.audio_from_stage == 1 and (plan.num_frames, plan.render_frames) == (120, 121)


@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
def test_4k_tiles_each_hold_about_what_the_1080p_stage_2_holds(aspect) -> None:
    plan = plan_for(spec(aspect_ratio=aspect), FULL_SCALE, FAMILIES["ltx-2.5"].four_k)
    width, height = plan.stage_size(3)
    tiles = tiles_for(height // 32, width // 32, plan.refines[1])
    assert len(tiles) == 4
    cells = [(t.rows.stop - t.rows.start) * (t.columns.stop - t.columns.start) for t in tiles]
    pro_stage_2 = (1920 // 32) * (1088 // 32)  # the pro tier's 16:9 stage 2, which the memory plan budgets for
    assert max(cells) <= 1.3 * pro_stage_2, f"tiles of {cells} cells against {pro_stage_2}"
    # A frame past 1080p decodes in temporal tiles of 32 frames overlapping 16; 1080p as before.
    assert decode_tiling(width, height) == FOUR_K_DECODE
    assert (FOUR_K_DECODE.tile_frames, FOUR_K_DECODE.stride_frames) == (32, 16)
    assert decode_tiling(1920, 1088) is None


@pytest.mark.parametrize("size,count,overlap", [(68, 2, 6), (120, 2, 6), (8, 2, 6), (12, 2, 6), (31, 3, 4), (5, 1, 0)])
def test_tile_weights_cover_every_cell_once(size, count, overlap) -> None:
    parts = spans(size, count, overlap)
    assert parts[0].start == 0 and parts[-1].stop == size
    tiles = tiles_for(size, size, Refine((0.5,), tiles=(count, count), overlap=overlap))
    total = torch.zeros(size, size)
    for tile in tiles:
        total[tile.rows.start : tile.rows.stop, tile.columns.start : tile.columns.stop] += tile.weight()
    assert torch.allclose(total, torch.ones(size, size)), f"weights sum to {total.min()}..{total.max()}"


def test_4k_generates_through_three_stages_with_tiles(tiny_engine) -> None:
    calls: list[tuple[int, int, int]] = []
    handle = tiny_engine.pipe.transformer.register_forward_pre_hook(
        lambda m, a, kw: calls.append((kw["num_frames"], kw["height"], kw["width"])), with_kwargs=True)
    progress: list[float] = []
    try:
        clip = tiny_engine.generate(spec(duration_seconds=1, sound=True), on_progress=progress.append)
    finally:
        handle.remove()
    # Progress runs over all three stages and every tile: it reaches 100 with the last step, not before.
    assert progress == sorted(progress) and progress[-1] == 100.0 and progress[-2] < 100.0, progress[-3:]
    # Tiny weights render a 12th of 3840x2160: 320x180, from 384x256 (stages of 96x64 and 192x128).
    assert clip.frames.shape == (24, 180, 320, 3) and clip.audio.shape == (2, 48000)
    plan = tiny_engine.plan(spec(duration_seconds=1))
    assert plan.stage_size(1) == (96, 64) and plan.render_width == 384
    grids = [grid for grid in calls if grid != (4, 2, 3)]  # stage 1's 3 x 2 latent, guided: several calls a step
    assert grids[: plan.refine_steps] == [(4, 4, 6)] * plan.refine_steps
    tiled = grids[plan.refine_steps :]
    # 2 x 2 tiles of the 8 x 12 latent, sharing 6 cells: 7 x 9 each, two steps each.
    assert tiled == [(4, 7, 9)] * 8, f"stage-3 transformer grids {tiled}"
    assert "stage3_seconds" in clip.timings and np.abs(clip.audio).max() > 0


def test_4k_with_a_start_image_conditions_every_tile(tiny_engine, monkeypatch) -> None:
    from PIL import Image

    from reelserve.engines.ltx2.conditioning import KeyframeConditionPipeline

    sizes: list[tuple[int, int]] = []
    real = KeyframeConditionPipeline.preprocess_conditions

    def spy(self, conditions=None, height=512, width=768, *args, **kwargs):
        sizes.append((width, height))
        return real(self, conditions, height, width, *args, **kwargs)

    monkeypatch.setattr(KeyframeConditionPipeline, "preprocess_conditions", spy)
    start = Image.fromarray(np.full((90, 160, 3), 200, dtype=np.uint8))
    clip = tiny_engine.generate(spec(duration_seconds=1, start_image=start))
    assert clip.frames.shape == (24, 180, 320, 3)
    assert sizes == [(96, 64), (192, 128)] + [(288, 224)] * 4, f"condition sizes per stage and tile: {sizes}"


def test_a_frame_past_1080p_decodes_in_temporal_tiles_and_the_vae_is_left_as_it_was(tiny_engine, monkeypatch) -> None:
    from reelserve.catalog import STANDARD

    vae = tiny_engine.pipe.vae
    seen: list[tuple] = []
    real = vae._temporal_tiled_decode

    def spy(*args, **kwargs):
        seen.append((vae.tile_sample_min_num_frames, vae.tile_sample_stride_num_frames))
        return real(*args, **kwargs)

    latents = torch.randn((1, 8, 7, 4, 6), generator=torch.Generator().manual_seed(0))  # 49 frames
    four_k = plan_for(spec(duration_seconds=2), FULL_SCALE, FAMILIES["ltx-2.5"].four_k)
    monkeypatch.setattr(vae, "_temporal_tiled_decode", spy)
    with torch.inference_mode():
        tiled = tiny_engine._decode_video(latents, four_k)
        whole = tiny_engine._decode_video(latents, plan_for(spec(recipe=STANDARD), FULL_SCALE,
                                                            FAMILIES["ltx-2.5"].standard))
    assert seen == [(32, 16)], f"temporal tiles {seen}"
    assert tiled.shape == whole.shape == (3, 49, 128, 192)
    assert vae.use_framewise_decoding is False and vae.tile_sample_min_num_frames == 16
