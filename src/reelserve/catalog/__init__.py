"""What this server serves: model ids, the recipe each one runs, and the typed input each one takes."""

from __future__ import annotations

from reelserve.catalog.inputs import (IMAGE_FIELDS, MAX_DATA_URI_CHARS, MAX_DATA_URI_IMAGE_BYTES, MAX_SEED, MAX_URL_CHARS,
                                      STORED, ImageToVideoInput, Shot, TextToVideoInput, VideoInput, draw_seed,
                                      input_model_for)
from reelserve.catalog.recipes import (PRO, PRO_I2V, RECIPES, STANDARD, STANDARD_I2V, TIERS, UHD, UHD_I2V, AspectRatio,
                                       Kind, Recipe, Tier, TierSpec, recipe_for)

__all__ = ["IMAGE_FIELDS", "MAX_DATA_URI_CHARS", "MAX_DATA_URI_IMAGE_BYTES", "MAX_SEED", "MAX_URL_CHARS", "PRO",
           "PRO_I2V", "RECIPES", "STANDARD", "STANDARD_I2V", "STORED", "TIERS", "UHD", "UHD_I2V", "AspectRatio",
           "ImageToVideoInput", "Kind", "Recipe", "Shot", "TextToVideoInput", "Tier", "TierSpec", "VideoInput",
           "draw_seed", "input_model_for", "recipe_for"]
