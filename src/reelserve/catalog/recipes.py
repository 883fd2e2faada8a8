"""The model ids this server answers to: kind, tier, delivered sizes, frame rate and editing modes.

The six Kling 3.0 routes RunComfy serves, `kling/kling-3.0/{standard,pro,4k}/{text-to-video,image-to-video}`,
keep the Kling 3.0 request schema so RunComfy clients work unchanged, but what runs is an open-weights
model (an LTX family through diffusers), not Kling. How each tier is sampled is the engine's, per family
(engines/ltx2/families.py). Adding a model id is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AspectRatio = Literal["16:9", "9:16", "1:1"]
Kind = Literal["text-to-video", "image-to-video"]
Tier = Literal["standard", "pro", "4k"]


@dataclass(frozen=True)
class TierSpec:
    """What a tier delivers, whatever the kind: sizes and editing modes."""

    name: Tier
    title: str
    sizes: dict[AspectRatio, tuple[int, int]]  # (width, height) of the delivered MP4
    shot_types: tuple[str, ...]
    default_shot_type: str


# The seeds give standard and pro; 4K is RunComfy's third tier (3840x2160 and its portrait and square
# kin) and takes pro's editing mode, being the premium tier of the same family.
STANDARD_TIER = TierSpec("standard", "Standard", {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)},
                         shot_types=("intelligent", "customize"), default_shot_type="intelligent")
PRO_TIER = TierSpec("pro", "Pro", {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1440, 1440)},
                    shot_types=("customize",), default_shot_type="customize")
UHD_TIER = TierSpec("4k", "4K", {"16:9": (3840, 2160), "9:16": (2160, 3840), "1:1": (2880, 2880)},
                    shot_types=("customize",), default_shot_type="customize")
TIERS: dict[Tier, TierSpec] = {t.name: t for t in (STANDARD_TIER, PRO_TIER, UHD_TIER)}


@dataclass(frozen=True)
class Recipe:
    """What one model id delivers: the engine renders it with its family's recipe for `tier`."""

    model_id: str
    kind: Kind
    tier: Tier
    title: str
    sizes: dict[AspectRatio, tuple[int, int]]
    shot_types: tuple[str, ...]
    default_shot_type: str
    fps: int = 24

    @property
    def takes_images(self) -> bool:
        """Image-to-video: a start image (and optionally an end image) instead of an aspect ratio."""
        return self.kind == "image-to-video"

    @property
    def slug(self) -> str:
        """`pro_image_to_video`: a name for routes and operation ids."""
        return f"{self.tier}_{self.kind}".replace("-", "_")


def _recipe(kind: Kind, tier: TierSpec) -> Recipe:
    return Recipe(model_id=f"kling/kling-3.0/{tier.name}/{kind}", kind=kind, tier=tier.name,
                  title=f"Kling 3.0 {tier.title} {kind} (served by LTX)", sizes=tier.sizes,
                  shot_types=tier.shot_types, default_shot_type=tier.default_shot_type)


PRO = _recipe("text-to-video", PRO_TIER)
STANDARD = _recipe("text-to-video", STANDARD_TIER)
UHD = _recipe("text-to-video", UHD_TIER)
PRO_I2V = _recipe("image-to-video", PRO_TIER)
STANDARD_I2V = _recipe("image-to-video", STANDARD_TIER)
UHD_I2V = _recipe("image-to-video", UHD_TIER)

# Text-to-video first (the seeds' two, then 4K), then image-to-video in the same tier order.
RECIPES: dict[str, Recipe] = {r.model_id: r for r in (PRO, STANDARD, UHD, PRO_I2V, STANDARD_I2V, UHD_I2V)}


def recipe_for(model_id: str) -> Recipe | None:
    return RECIPES.get(model_id)
