"""What one shot renders at each stage: sizes on the latent grid, frame counts, steps and guidance. Pure.

A weights source decides the scale (`Scale`): a real checkpoint renders the recipe's sizes and
steps, the tiny test weights a toy fraction of them. The engine plans with whatever scale its
source gave it, so it never asks which source that was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES

from reelserve.catalog import Recipe
from reelserve.engines.base import GenerationSpec
from reelserve.engines.shots import ShotPlan

# Stage 2 doubles the latent grid, so the render size is a multiple of 2 x 32 px; outputs are then
# center-cropped to the exact size. Frames run on 8k+1; extra frames are dropped from the end.
LATENT_GRID = 32
TEMPORAL_GRID = 8
UPSAMPLE = 2


@dataclass(frozen=True)
class Scale:
    """How big a weights source renders the recipes. The defaults are full size."""

    size_divisors: Mapping[str, int] = field(default_factory=dict)  # tier -> divides the delivered width and height
    step_divisor: int = 1  # divides a full-model recipe's stage-1 steps
    min_steps: int = 1
    max_sequence_length: int = 1024  # prompt tokens the text encoder reads

    def size(self, recipe: Recipe, aspect_ratio: str) -> tuple[int, int]:
        divisor = self.size_divisors.get(recipe.tier, 1)
        width, height = recipe.sizes[aspect_ratio]  # type: ignore[index]
        return width // divisor // 2 * 2, height // divisor // 2 * 2  # even: H.264 in yuv420p needs it

    def steps(self, recipe: Recipe) -> int:
        if recipe.distilled:
            return len(DISTILLED_SIGMA_VALUES)  # the schedule the distillation was trained on, at any scale
        return max(self.min_steps, recipe.num_inference_steps // self.step_divisor)


FULL_SCALE = Scale()


@dataclass(frozen=True)
class Plan:
    """Sizes and schedule for one generation: what each stage renders and what is delivered."""

    width: int
    height: int
    render_width: int  # stage 2 (or the only stage)
    render_height: int
    num_frames: int
    render_frames: int
    steps: int  # stage 1 denoising steps
    refine_steps: int  # stage 2 denoising steps; 0 without a second stage
    guidance_scale: float
    audio_guidance_scale: float

    @property
    def stage1_size(self) -> tuple[int, int]:
        if not self.refine_steps:
            return self.render_width, self.render_height
        return self.render_width // UPSAMPLE, self.render_height // UPSAMPLE

    @property
    def work(self) -> float:
        """Denoising cost in stage-1 steps: a stage-2 step sees UPSAMPLE^2 times the tokens."""
        return self.steps + self.refine_steps * UPSAMPLE**2


def guidance_for(cfg_scale: float, tuned: float) -> float:
    """cfg_scale 0..1 onto pipeline guidance, monotonic: 0 -> 1.0 (no CFG pass), 0.5 -> tuned, 1 -> 2*tuned-1."""
    return 1.0 + 2.0 * cfg_scale * (tuned - 1.0)


def plan_for(spec: GenerationSpec, scale: Scale, shot: ShotPlan | None = None) -> Plan:
    """The plan for one shot of `spec` (the whole request when `shot` is None) at `scale`."""
    recipe = spec.recipe
    width, height = scale.size(recipe, spec.aspect_ratio)
    grid = LATENT_GRID * (UPSAMPLE if recipe.refine_steps else 1)
    frames = spec.num_frames if shot is None else shot.frames
    return Plan(
        width=width,
        height=height,
        render_width=_round_up(width, grid),
        render_height=_round_up(height, grid),
        num_frames=frames,
        # 8k+1 frames and at least one past the cut, so the audio runs on into the crossfade.
        render_frames=_round_up(frames, TEMPORAL_GRID) + 1,
        steps=scale.steps(recipe),
        refine_steps=recipe.refine_steps,
        guidance_scale=guidance_for(spec.cfg_scale, recipe.guidance_scale),
        audio_guidance_scale=guidance_for(spec.cfg_scale, recipe.audio_guidance_scale),
    )


def _round_up(value: int, multiple: int) -> int:
    return math.ceil(value / multiple) * multiple
