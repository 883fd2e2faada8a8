"""The model ids this server answers to, and the recipe each one runs.

These routes keep the Kling 3.0 request schema so RunComfy clients work unchanged, but what runs is
an open-weights model (LTX-2 through diffusers), not Kling. Adding a model id is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AspectRatio = Literal["16:9", "9:16", "1:1"]
ASPECT_RATIOS: tuple[AspectRatio, ...] = ("16:9", "9:16", "1:1")

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
    num_inference_steps: int = 40
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
    num_inference_steps=40,
)

STANDARD = Recipe(
    model_id="kling/kling-3.0/standard/text-to-video",
    tier="standard",
    title="Kling 3.0 Standard text-to-video (served by LTX-2)",
    checkpoint=LTX2_CHECKPOINT,
    sizes={"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)},
    shot_types=("intelligent", "customize"),
    default_shot_type="intelligent",
    num_inference_steps=20,
)

RECIPES: dict[str, Recipe] = {r.model_id: r for r in (PRO, STANDARD)}


def recipe_for(model_id: str) -> Recipe | None:
    return RECIPES.get(model_id)
