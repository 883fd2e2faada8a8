"""The model ids this server answers to: tier, delivered sizes, frame rate and editing modes.

These routes keep the Kling 3.0 request schema so RunComfy clients work unchanged, but what runs is
an open-weights model (an LTX family through diffusers), not Kling. How each tier is sampled is the
engine's, per family (engines/ltx2/families.py). Adding a model id is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AspectRatio = Literal["16:9", "9:16", "1:1"]


@dataclass(frozen=True)
class Recipe:
    """What one model id delivers: the engine renders it with its family's recipe for `tier`."""

    model_id: str
    tier: Literal["pro", "standard"]
    title: str
    sizes: dict[AspectRatio, tuple[int, int]]  # (width, height) of the delivered MP4
    shot_types: tuple[str, ...]
    default_shot_type: str
    fps: int = 24


PRO = Recipe(
    model_id="kling/kling-3.0/pro/text-to-video",
    tier="pro",
    title="Kling 3.0 Pro text-to-video (served by LTX)",
    sizes={"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1440, 1440)},
    shot_types=("customize",),
    default_shot_type="customize",
)

STANDARD = Recipe(
    model_id="kling/kling-3.0/standard/text-to-video",
    tier="standard",
    title="Kling 3.0 Standard text-to-video (served by LTX)",
    sizes={"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)},
    shot_types=("intelligent", "customize"),
    default_shot_type="intelligent",
)

RECIPES: dict[str, Recipe] = {r.model_id: r for r in (PRO, STANDARD)}


def recipe_for(model_id: str) -> Recipe | None:
    return RECIPES.get(model_id)
