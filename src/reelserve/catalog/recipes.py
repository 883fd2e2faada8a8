"""The model ids this server answers to, and the recipe each one runs on real weights.

These routes keep the Kling 3.0 request schema so RunComfy clients work unchanged, but what runs is
an open-weights model (LTX-2 through diffusers), not Kling. Adding a model id is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AspectRatio = Literal["16:9", "9:16", "1:1"]

LTX2_CHECKPOINT = "Lightricks/LTX-2"


@dataclass(frozen=True)
class Recipe:
    """How one model id turns a request into a video on real weights."""

    model_id: str
    tier: Literal["pro", "standard"]
    title: str
    checkpoint: str
    sizes: dict[AspectRatio, tuple[int, int]]  # (width, height) of the delivered MP4
    shot_types: tuple[str, ...]
    default_shot_type: str
    fps: int = 24
    # Stage 1 renders at half the delivered size. `distilled` runs it with the distilled LoRA on its
    # fixed 8-sigma schedule; otherwise the full model denoises for `num_inference_steps`.
    distilled: bool = False
    num_inference_steps: int = 40
    # Stage 2 upsamples the latents 2x and refines them with the distilled LoRA for this many steps
    # (the 3-sigma stage-2 schedule); 0 renders in one stage at the delivered size.
    refine_steps: int = 3
    # The guidance the recipe was tuned at; request cfg_scale 0.5 lands exactly here.
    guidance_scale: float = 4.0
    audio_guidance_scale: float = 7.0


PRO = Recipe(
    model_id="kling/kling-3.0/pro/text-to-video",
    tier="pro",
    title="Kling 3.0 Pro text-to-video (served by LTX-2)",
    checkpoint=LTX2_CHECKPOINT,
    sizes={"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1440, 1440)},
    shot_types=("customize",),
    default_shot_type="customize",
    # Quality: the full model with CFG for 40 steps at 960x540, then 2x upsample and refine to 1080p.
    num_inference_steps=40,
    guidance_scale=4.0,
    audio_guidance_scale=7.0,
)

STANDARD = Recipe(
    model_id="kling/kling-3.0/standard/text-to-video",
    tier="standard",
    title="Kling 3.0 Standard text-to-video (served by LTX-2)",
    checkpoint=LTX2_CHECKPOINT,
    sizes={"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)},
    shot_types=("intelligent", "customize"),
    default_shot_type="intelligent",
    # Speed: the distilled model's 8 steps at 640x360, then 2x upsample and refine to 720p. It is
    # trained for CFG 1; a light 1.5 at the default keeps negative_prompt live (docs/models.md).
    distilled=True,
    num_inference_steps=8,
    guidance_scale=1.5,
    audio_guidance_scale=1.5,
)

RECIPES: dict[str, Recipe] = {r.model_id: r for r in (PRO, STANDARD)}


def recipe_for(model_id: str) -> Recipe | None:
    return RECIPES.get(model_id)
