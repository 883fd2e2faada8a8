"""What every engine takes and gives back. One file per model family implements `Engine`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from reelserve.catalog import Recipe
from reelserve.media.clip import Clip
from reelserve.engines.shots import ShotPlan

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class GenerationSpec:
    """One validated request, in the engine's terms."""

    recipe: Recipe
    prompt: str
    negative_prompt: str | None
    duration_seconds: int
    aspect_ratio: str
    cfg_scale: float
    sound: bool
    seed: int
    shots: tuple[ShotPlan, ...] = ()

    @property
    def num_frames(self) -> int:
        return self.duration_seconds * self.recipe.fps

    @property
    def shot_plans(self) -> tuple[ShotPlan, ...]:
        """The shots to render; one shot of the whole prompt when none were planned."""
        return self.shots or (ShotPlan(self.prompt, self.prompt, self.num_frames),)


@dataclass(frozen=True)
class EngineInfo:
    """What is loaded, reported in logs, /healthz and every result's metadata.engine."""

    family: str
    weights: str
    random_weights: bool
    device: str
    dtype: str
    settings: tuple[str, ...] = ()  # the GPU settings applied at load (engines/runtime.py)

    def describe(self) -> dict[str, Any]:
        note = (
            "random test weights: the video is noise; shapes, durations, audio and timings are real"
            if self.random_weights
            else "pretrained checkpoint"
        )
        return {
            "family": self.family,
            "weights": self.weights,
            "random_weights": self.random_weights,
            "device": self.device,
            "dtype": self.dtype,
            "settings": list(self.settings),
            "note": note,
        }


class Engine(Protocol):
    info: EngineInfo

    def generate(self, spec: GenerationSpec, on_progress: ProgressCallback | None = None) -> Clip:
        """Render one request. Raises `GenerationError` subclasses for failures a user should see."""
        ...
