"""What one shot renders at each stage: sizes on the latent grid, frame counts, steps and guidance. Pure.

A weights source decides the scale (`Scale`): a real checkpoint renders the recipe's sizes and
steps, the tiny test weights a toy fraction of them. The engine plans with whatever scale its
source gave it, so it never asks which source that was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from reelserve.catalog import Recipe
from reelserve.engines.base import GenerationSpec
from reelserve.engines.ltx2.families import (
    DISTILLED_SIGMAS,
    REFERENCE_NEGATIVE_PROMPT,
    STAGE_2,
    CfgRange,
    Guidance,
    Refine,
    TierRecipe,
)
from reelserve.engines.shots import ShotPlan

# Each refine doubles the latent grid, so the render size is a multiple of 2^refines x 32 px; outputs are
# then center-cropped to the exact size. Frames run on 8k+1; extra frames are dropped from the end.
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
    enhancer_max_new_tokens: int | None = None  # None: the enhancer's reference budget (512 or 600 tokens)

    def size(self, recipe: Recipe, aspect_ratio: str) -> tuple[int, int]:
        divisor = self.size_divisors.get(recipe.tier, 1)
        width, height = recipe.sizes[aspect_ratio]  # type: ignore[index]
        return width // divisor // 2 * 2, height // divisor // 2 * 2  # even: H.264 in yuv420p needs it

    def steps(self, recipe: TierRecipe) -> int:
        if recipe.distilled:
            return len(DISTILLED_SIGMAS)  # the schedule the distillation was trained on, at any scale
        return max(self.min_steps, recipe.steps // self.step_divisor)


FULL_SCALE = Scale()


@dataclass(frozen=True)
class Plan:
    """Sizes, schedules and guidance for one shot: what each stage is asked for and what is delivered."""

    width: int
    height: int
    render_width: int  # the last stage's size
    render_height: int
    num_frames: int
    render_frames: int
    distilled: bool  # stage 1 with the distilled LoRA; stage 2 always has it on
    sigmas: tuple[float, ...]  # stage 1's schedule, exactly as handed to the scheduler
    guidance: Guidance  # stage 1's; stage 2 is always unguided
    negative_prompt: str | None  # what stage 1 guides against; None when it runs unguided
    audio_from_stage: int
    refines: tuple[Refine, ...] = (STAGE_2,)  # the stages after the first, each at twice its predecessor's size

    @property
    def steps(self) -> int:
        return len(self.sigmas)

    @property
    def refine_sigmas(self) -> tuple[float, ...]:
        """Stage 2's schedule."""
        return self.refines[0].sigmas

    @property
    def refine_steps(self) -> int:
        """Stage 2's steps."""
        return len(self.refine_sigmas)

    def stage_size(self, stage: int) -> tuple[int, int]:
        """(width, height) stage `stage` (1-based) renders at: the render size halved once per later stage."""
        divisor = UPSAMPLE ** (len(self.refines) + 1 - stage)
        return self.render_width // divisor, self.render_height // divisor

    @property
    def stage1_size(self) -> tuple[int, int]:
        return self.stage_size(1)

    @property
    def stage_count(self) -> int:
        return len(self.refines) + 1

    def stage_weight(self, stage: int) -> float:
        """One denoising step of `stage` (2 or later) in stage-1 steps: each upsample quadruples the tokens, and a
        tiled stage runs its steps once per tile, each over a share of them."""
        rows, columns = self.refines[stage - 2].tiles
        return float(UPSAMPLE ** (2 * (stage - 1))) / (rows * columns)

    @property
    def work(self) -> float:
        """Denoising cost in unguided stage-1 steps, every stage and tile: a guided stage-1 step counts one per
        transformer pass, as the engine reports it."""
        later = sum(len(refine.sigmas) * refine.tiles[0] * refine.tiles[1] * self.stage_weight(stage)
                    for stage, refine in enumerate(self.refines, start=2))
        return self.steps * self.guidance.passes + later


def reference_sigmas(steps: int) -> tuple[float, ...]:
    """ltx-core's `LTX2Scheduler.execute(steps)` as the two-stage reference calls it, without a latent: the
    shift of 4096 tokens (mu 2.05) whatever the real size, then stretched so the last non-zero sigma is 0.1.
    The terminal 0.0 is left to diffusers' scheduler, which appends it."""
    mu, terminal = 2.05, 0.1
    linear = [1.0 - i / steps for i in range(steps)]
    shifted = [math.exp(mu) / (math.exp(mu) + (1.0 / s - 1.0)) for s in linear]
    stretch = (1.0 - shifted[-1]) / (1.0 - terminal)
    return tuple(1.0 - (1.0 - s) / stretch for s in shifted)


def video_cfg(cfg: CfgRange, cfg_scale: float) -> float:
    """cfg_scale 0..1 onto the tier's sanctioned CFG range, piecewise linear: 0 -> low, 0.5 -> default, 1 -> high."""
    if cfg_scale <= 0.5:
        return cfg.low + (cfg.default - cfg.low) * cfg_scale * 2
    return cfg.default + (cfg.high - cfg.default) * (cfg_scale - 0.5) * 2


def stage1_guidance(recipe: TierRecipe, cfg_scale: float, negative_prompt: str | None) -> Guidance:
    """The guidance stage 1 runs for a request.

    A guided recipe (pro) keeps every reference term and moves only its video CFG with cfg_scale; audio CFG
    stays at the reference's. An unguided one (standard, distilled) stays unguided at or below the default
    cfg_scale, and runs one guidance pass, video and audio alike, when the request raises cfg_scale or
    names a negative prompt: otherwise either field would be accepted and ignored.
    """
    scale = video_cfg(recipe.cfg, cfg_scale)
    if recipe.guided_by_default:
        return replace(recipe.guidance, cfg=scale)
    if cfg_scale > 0.5 or negative_prompt:
        return replace(recipe.guidance, cfg=scale, audio_cfg=scale)
    return recipe.guidance


def plan_for(spec: GenerationSpec, scale: Scale, recipe: TierRecipe, shot: ShotPlan | None = None) -> Plan:
    """The plan for one shot of `spec` (the whole request when `shot` is None) on `recipe`, at `scale`."""
    width, height = scale.size(spec.recipe, spec.aspect_ratio)
    grid = LATENT_GRID * UPSAMPLE ** len(recipe.refines)
    frames = spec.num_frames if shot is None else shot.frames
    guidance = stage1_guidance(recipe, spec.cfg_scale, spec.negative_prompt)
    guided = guidance.cfg > 1 or guidance.audio_cfg > 1
    steps = scale.steps(recipe)
    return Plan(
        width=width,
        height=height,
        render_width=_round_up(width, grid),
        render_height=_round_up(height, grid),
        num_frames=frames,
        # 8k+1 frames and at least one past the cut, so the audio runs on into the crossfade.
        render_frames=_round_up(frames, TEMPORAL_GRID) + 1,
        distilled=recipe.distilled,
        sigmas=DISTILLED_SIGMAS if recipe.distilled else reference_sigmas(steps),
        guidance=guidance,
        negative_prompt=(spec.negative_prompt or REFERENCE_NEGATIVE_PROMPT) if guided else None,
        audio_from_stage=recipe.audio_from_stage,
        refines=recipe.refines,
    )


def _round_up(value: int, multiple: int) -> int:
    return math.ceil(value / multiple) * multiple
