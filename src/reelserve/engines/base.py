"""What every engine takes and gives back. One package per model family implements `Engine`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PIL.Image import Image
from pydantic import ValidationError

from reelserve.catalog import (IMAGE_FIELDS, STORED, Recipe, TextToVideoInput, VideoInput, draw_seed, input_model_for,
                               recipe_for)
from reelserve.errors import GenerationError, StoredInputError, field_problems, problems_line
from reelserve.images import nearest_aspect_ratio
from reelserve.engines.shots import ShotPlan, plan_shots
from reelserve.media.clip import Clip

ProgressCallback = Callable[[float], None]
# An image-to-video request's image field ("start_image_url") -> the image it names, decoded upright and RGB. The
# worker's opener reads the bytes stored with the request: engines know no storage.
OpenImage = Callable[[str], Image]


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
    # Image-to-video: the first frame (of the first shot) and the last frame (of the last shot) follow these.
    # RGB, any size: the engine center-crops and resizes each to every stage's size.
    start_image: Image | None = None
    end_image: Image | None = None

    @classmethod
    def from_request(cls, recipe: Recipe, request: VideoInput, start_image: Image | None = None,
                     end_image: Image | None = None) -> GenerationSpec:
        """The spec for a request validated by its model's input schema: every field of the request, in
        the engine's terms. A request that named no seed gets one drawn here, and the spec reports it.
        Image-to-video takes its images decoded, and the aspect ratio nearest the start image's shape."""
        if isinstance(request, TextToVideoInput):
            aspect_ratio = request.aspect_ratio
        elif start_image is not None:
            aspect_ratio = nearest_aspect_ratio(start_image.width, start_image.height)
        else:
            raise ValueError(f"{recipe.model_id} needs the request's start image")
        return cls(
            recipe=recipe,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            duration_seconds=request.duration,
            aspect_ratio=aspect_ratio,
            cfg_scale=request.cfg_scale,
            sound=request.sound,
            seed=draw_seed() if request.seed is None else request.seed,
            shot_type=request.shot_type,
            multi_prompt=tuple((shot.prompt, shot.duration) for shot in request.multi_prompt),
            enhance_prompt=request.enhance_prompt,
            start_image=start_image,
            end_image=end_image,
        )

    @classmethod
    def from_stored(cls, model_id: str, stored_input: dict[str, Any],
                    open_image: OpenImage | None = None) -> GenerationSpec:
        """A queued request's stored input, validated again by its model's input schema, in the engine's terms;
        `open_image` gives each image field's image (image-to-video: the bytes stored with the request).

        The API stored what that same schema produced, so this fails only for a request queued by another
        version of reelserve whose schema or catalog has since changed: a GenerationError the user sees.
        """
        recipe = recipe_for(model_id)
        if recipe is None:  # the API only queues known model ids; a removed catalog entry lands here
            raise GenerationError(f"model {model_id!r} is no longer served by this worker")
        try:
            # STORED: an image field holds the URL or, for a data URI, a note; the stored bytes are the image.
            request = input_model_for(recipe).model_validate(stored_input, context={STORED: True})
        except ValidationError as exc:
            problems = problems_line(field_problems(exc.errors(include_url=False)))
            raise StoredInputError(f"This request's input no longer passes the {model_id} schema ({problems}); "
                                   "submit it again.") from exc
        named = [field for field in IMAGE_FIELDS if getattr(request, field, None) is not None]
        if named and open_image is None:
            raise ValueError(f"{model_id} needs its images opened: pass open_image")
        images = {field: open_image(field) for field in named} if open_image is not None else {}
        return cls.from_request(recipe, request, images.get("start_image_url"), images.get("end_image_url"))

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
