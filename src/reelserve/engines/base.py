"""What every engine takes and gives back. One package per model family implements `Engine`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from reelserve.catalog import Recipe, TextToVideoInput, draw_seed, input_model_for, recipe_for
from reelserve.errors import GenerationError, StoredInputError, field_problems, problems_line
from reelserve.engines.shots import ShotPlan, plan_shots
from reelserve.media.clip import Clip

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class GenerationSpec:
    """One validated request, in the engine's terms. Built from the typed request by `from_request`."""

    recipe: Recipe
    prompt: str
    negative_prompt: str | None
    duration_seconds: int
    aspect_ratio: str
    cfg_scale: float
    sound: bool
    seed: int
    shot_type: str = "customize"
    multi_prompt: tuple[tuple[str, int], ...] = ()  # (prompt, seconds) per shot
    enhance_prompt: bool | None = None  # None: the server's default for its family

    @classmethod
    def from_request(cls, recipe: Recipe, request: TextToVideoInput) -> GenerationSpec:
        """The spec for a request validated by its model's input schema: every field of the request, in
        the engine's terms. A request that named no seed gets one drawn here, and the spec reports it."""
        return cls(
            recipe=recipe,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            duration_seconds=request.duration,
            aspect_ratio=request.aspect_ratio,
            cfg_scale=request.cfg_scale,
            sound=request.sound,
            seed=draw_seed() if request.seed is None else request.seed,
            shot_type=request.shot_type,
            multi_prompt=tuple((shot.prompt, shot.duration) for shot in request.multi_prompt),
            enhance_prompt=request.enhance_prompt,
        )

    @classmethod
    def from_stored(cls, model_id: str, stored_input: dict[str, Any]) -> GenerationSpec:
        """A queued request's stored input, validated again by its model's input schema, in the engine's terms.

        The API stored what that same schema produced, so this fails only for a request queued by another
        version of reelserve whose schema or catalog has since changed: a GenerationError the user sees.
        """
        recipe = recipe_for(model_id)
        if recipe is None:  # the API only queues known model ids; a removed catalog entry lands here
            raise GenerationError(f"model {model_id!r} is no longer served by this worker")
        try:
            request = input_model_for(recipe).model_validate(stored_input)
        except ValidationError as exc:
            problems = problems_line(field_problems(exc.errors(include_url=False)))
            raise StoredInputError(f"This request's input no longer passes the {model_id} schema ({problems}); "
                                   "submit it again.") from exc
        return cls.from_request(recipe, request)

    @property
    def num_frames(self) -> int:
        return self.duration_seconds * self.recipe.fps

    @property
    def shot_plans(self) -> tuple[ShotPlan, ...]:
        """The shots to render, with their frame counts (engines/shots.py has the rules)."""
        return tuple(plan_shots(self.prompt, self.duration_seconds, self.recipe.fps, shot_type=self.shot_type,
                                multi_prompt=self.multi_prompt))


@dataclass(frozen=True)
class EngineInfo:
    """What is loaded, reported in logs, /v1/health and every result's metadata.engine."""

    family: str
    weights: str
    random_weights: bool
    device: str
    dtype: str
    settings: tuple[str, ...] = ()  # the GPU settings applied at load (engines/runtime.py)
    memory_plan: str = "all_resident"  # where the components live (engines/memory.py)
    prompt_enhancer: bool = False  # whether this checkpoint can enhance prompts

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
            "memory_plan": self.memory_plan,
            "prompt_enhancer": self.prompt_enhancer,
            "note": note,
        }


class Engine(Protocol):
    info: EngineInfo

    def generate(self, spec: GenerationSpec, on_progress: ProgressCallback | None = None) -> Clip:
        """Render one request. Raises `GenerationError` subclasses for failures a user should see."""
        ...
