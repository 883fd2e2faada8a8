"""The request bodies, typed: the one reader of what a client sent.

One pydantic model per recipe, built from the recipe so the tiers differ only where the seed
documents say they do (`shot_type`), and the kinds only in how the video's shape is chosen
(`aspect_ratio` for text-to-video; the start image for image-to-video). The API validates a body
into it and stores its JSON; the worker validates that JSON again with the same model (under the
context {STORED: True}) and builds the engine's spec from the typed object, so defaults and ranges
are decided here and nowhere else. Its JSON Schema is what GET /v1/models/{id} serves: the seeds'
schema with their two defects corrected (`number`, not `float`; `multi_prompt.items` is an object
with `properties`).
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, create_model, field_validator

from reelserve.catalog.recipes import RECIPES, AspectRatio, Recipe

# The one seed range. A request may name any seed a signed 64-bit integer holds; a seed drawn for a
# request that named none stays below 2**32, so that it survives every JSON parser exactly
# (JavaScript's numbers are exact only to 2**53) and a client can send it back to repeat the video.
MAX_SEED = 2**63 - 1
DRAWN_SEEDS = 2**32


def draw_seed() -> int:
    return secrets.randbelow(DRAWN_SEEDS)


def _whole_seconds(value: Any) -> Any:
    """Kling and fal clients send durations as strings ("5"); accept any integer-valued spelling."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number of seconds, not a boolean")
    if isinstance(value, str):
        # ASCII digits only: str.isdigit() and int() also take "٣" or "²", which no client means.
        if not ASCII_INTEGER.fullmatch(value):
            raise ValueError(f"must be a whole number of seconds written with the digits 0-9, such as 5 or \"5\", got {value!r}")
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (int, str)):
        return value
    raise ValueError(f"must be a whole number of seconds such as 5 or \"5\", got {value!r}")


def _json_number(value: Any) -> Any:
    # Lax parsing would take true/false as 1/0 and "0.5" as 0.5; the schema says number.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number between 0 and 1, got {value!r}")
    return value


ASCII_INTEGER = re.compile(r"\s*[+-]?[0-9]{1,6}\s*", re.ASCII)

# Newline and tab are text. Every other control character is refused on every backend: NUL cannot
# be stored in PostgreSQL's JSONB, and the rest only hide or garble what a prompt says.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Characters that show nothing on their own: format characters (zero-width space, joiners, BOM,
# bidi marks), separators, and the filler letters and marks that render as blank.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
BLANK_FILLERS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0") | frozenset(map(chr, range(0xFE00, 0xFE10)))


def _is_invisible(char: str) -> bool:
    return char in BLANK_FILLERS or unicodedata.category(char) in INVISIBLE_CATEGORIES


def _plain_text(value: str) -> str:
    control = CONTROL.search(value)
    if control:
        raise ValueError(f"contains the control character U+{ord(control.group()):04X} at position "
                         f"{control.start()}; remove it (newline and tab are allowed)")
    return value


def _not_blank(value: str) -> str:
    if all(_is_invisible(char) for char in value):
        raise ValueError("must not be blank: it has no visible characters")
    return value


Seconds = Annotated[int, Field(ge=3, le=15), BeforeValidator(_whole_seconds)]
Text = Annotated[str, AfterValidator(_plain_text), AfterValidator(_not_blank)]
OptionalText = Annotated[str | None, AfterValidator(lambda v: v if v is None else _plain_text(v))]


class Shot(BaseModel):
    """One shot of a multi-shot video."""

    model_config = ConfigDict(extra="forbid", title="Shot")

    prompt: Text = Field(..., min_length=1, max_length=512, strict=True, description="What happens in this shot.")
    duration: Seconds = Field(5, description="Length of this shot in seconds.")


# An image field holds an http(s) URL the server fetches once at submit, or a `data:image/...;base64,`
# URI (a reelserve extension). The bytes are checked and stored with the request at submit
# (reelserve.images; the API's submit); the stored input keeps the URL, or a short note in place of a
# data URI, which is why a stored input is re-read without the reference check.
MAX_URL_CHARS = 2048
MAX_DATA_URI_IMAGE_BYTES = 15 * 1024 * 1024  # decoded: reelserve.images refuses more, naming the field
MAX_DATA_URI_HEAD_CHARS = 256  # `data:image/<type>[;<parameter>=<value>...];base64,`: a real one is ~25
# base64 is 4 characters for every 3 bytes, padded: the longest data URI whose image is accepted.
MAX_DATA_URI_CHARS = MAX_DATA_URI_HEAD_CHARS + 4 * -(-MAX_DATA_URI_IMAGE_BYTES // 3)
IMAGE_SCHEMES = ("http://", "https://", "data:")
STORED = "stored"  # the validation context key under which the worker re-reads a stored input

# Each image field, and the file name its bytes are stored under with the request
# (storage.media_key(request_id, filename=...)): the API writes them at submit, the worker reads them.
IMAGE_FIELDS: dict[str, str] = {"start_image_url": "start_image", "end_image_url": "end_image"}


def _image_reference(value: str | None, info: ValidationInfo) -> str | None:
    if value is None or (info.context or {}).get(STORED):
        return value
    if not value.lower().startswith(IMAGE_SCHEMES):
        raise ValueError("must be an http(s) URL of a JPEG, PNG or WebP image, or a data:image/...;base64, URI")
    if not value.lower().startswith("data:") and len(value) > MAX_URL_CHARS:
        raise ValueError(f"is {len(value)} characters long; a URL may have at most {MAX_URL_CHARS}")
    return value


class _Opening(BaseModel):
    """The fields every body starts with, apart so that text-to-video keeps the seeds' field order
    (clients and the playground show the schema's order): see _Framing."""

    model_config = ConfigDict(extra="forbid")

    prompt: Text = Field(
        ..., min_length=1, max_length=2500, strict=True,
        description="Text description of the scene, motion, camera style and atmosphere.",
    )
    negative_prompt: OptionalText = Field(
        None, max_length=2500, strict=True, description="Elements to keep out of the video."
    )
    duration: Seconds = Field(5, description="Video length in seconds.")


class VideoInput(_Opening):
    """Fields shared by every model id; `shot_type` is narrowed per recipe."""

    cfg_scale: Annotated[float, BeforeValidator(_json_number)] = Field(
        0.5, ge=0, le=1, description="How strongly the video follows the prompt (0 = freely, 1 = strictly)."
    )
    sound: bool = Field(True, strict=True, description="Generate synchronized sound with the video.")
    multi_prompt: list[Shot] = Field(
        default_factory=list, max_length=20,
        description="Shots in order; their durations must add up to the video's duration.",
    )
    seed: int | None = Field(
        None, ge=0, le=MAX_SEED, strict=True,
        description="reelserve extension: the same request and seed give the same frames on the same engine and hardware.",
    )
    enhance_prompt: bool | None = Field(
        None, strict=True,
        description="reelserve extension: rewrite each shot's prompt with the model family's prompt enhancer "
        "before generating (metadata.shots[].enhanced_prompt says what it wrote). Unset: the server's default, "
        "on for LTX-2.5.",
    )
    # Each recipe's model narrows this to the values its tier accepts, with its own default (input_model_for).
    shot_type: str = Field("customize", description="Editing mode.")

    @field_validator("multi_prompt")
    @classmethod
    def _shots_fill_duration(cls, shots: list[Shot], info: ValidationInfo) -> list[Shot]:
        duration = info.data.get("duration")
        if shots and duration is not None:
            total = sum(shot.duration for shot in shots)
            if total != duration:
                raise ValueError(
                    f"shot durations add up to {total} s but duration is {duration} s; "
                    "make them equal (duration defaults to 5)"
                )
        return shots


class _Framing(_Opening):
    aspect_ratio: AspectRatio = Field("16:9", description="Output aspect ratio.")


class TextToVideoInput(VideoInput, _Framing):
    """A text-to-video request: the video's shape is chosen by `aspect_ratio`. Pydantic orders fields
    by the reversed MRO (_Opening, _Framing, VideoInput), so aspect_ratio comes right after duration,
    where the seeds put it."""


class ImageToVideoInput(VideoInput):
    """An image-to-video request: the video starts on `start_image_url` (and ends on `end_image_url`), and
    takes the tier's size nearest the start image's shape (16:9, 9:16 or 1:1), the image center-cropped to it."""

    start_image_url: Annotated[str, AfterValidator(_image_reference)] = Field(
        ..., min_length=1, max_length=MAX_DATA_URI_CHARS, strict=True,
        description="The first frame: a publicly reachable http(s) URL of a JPEG, PNG or WebP image (at most 50 MB, "
        "short side at least 300 px, aspect between 1:2.5 and 2.5:1), fetched once at submit; or a "
        "`data:image/...;base64,` URI (reelserve extension).",
    )
    end_image_url: Annotated[str | None, AfterValidator(_image_reference)] = Field(
        None, min_length=1, max_length=MAX_DATA_URI_CHARS, strict=True,
        description="The last frame, given like start_image_url (optional; not with multi_prompt).",
    )

    @field_validator("end_image_url")
    @classmethod
    def _no_end_image_with_shots(cls, end: str | None, info: ValidationInfo) -> str | None:
        # A field validator (the images come after multi_prompt), so that the 422 names end_image_url.
        if end is not None and info.data.get("multi_prompt"):
            raise ValueError("cannot be combined with a non-empty multi_prompt (Kling does not allow the pair); "
                             "send one or the other")
        return end


def input_model_for(recipe: Recipe) -> type[VideoInput]:
    return _input_model(recipe.model_id)


@functools.cache
def _input_model(model_id: str) -> type[VideoInput]:
    recipe = RECIPES[model_id]
    base = ImageToVideoInput if recipe.takes_images else TextToVideoInput
    shot_type = Literal[recipe.shot_types]  # type: ignore[valid-type]
    description = "Editing mode: " + ", ".join(recipe.shot_types) + f" (default {recipe.default_shot_type})."
    name = "".join(part.capitalize() for part in recipe.slug.split("_")).replace("4k", "4K") + "Input"
    if name[0].isdigit():  # "4K...": a schema name generated clients make a class of must start with a letter
        name = "Tier" + name
    return create_model(  # type: ignore[call-overload, no-any-return]
        name,
        __base__=base,
        __doc__=f"Input for {recipe.model_id}.",
        # A one-value Literal would render as "const"; clients built from the seeds expect "enum".
        shot_type=(shot_type, Field(recipe.default_shot_type, description=description,
                                    json_schema_extra={"enum": list(recipe.shot_types), "type": "string"})),
    )
