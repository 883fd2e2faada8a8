"""What this server serves: model ids, the recipe each one runs, and the typed input each one takes."""

from __future__ import annotations

from reelserve.catalog.inputs import MAX_SEED, Shot, TextToVideoInput, draw_seed, input_model_for
from reelserve.catalog.recipes import PRO, RECIPES, STANDARD, AspectRatio, Recipe, recipe_for

__all__ = ["MAX_SEED", "PRO", "RECIPES", "STANDARD", "AspectRatio", "Recipe", "Shot",
           "TextToVideoInput", "draw_seed", "input_model_for", "recipe_for"]
