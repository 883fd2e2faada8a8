"""Start and end images, conditioned as Lightricks' two-stage image-to-video conditions them.

ti2vid_two_stages.py (ltx-pipelines, Lightricks/LTX-2 @ 400fd31) builds its conditions with
utils/helpers.py `combined_image_conditionings`: an image at frame 0 replaces the first latent frame
(ltx-core `VideoConditionByLatentIndex`); an image at a later frame joins the sequence as extra clean tokens
placed at that pixel frame (`VideoConditionByKeyframeIndex`). Every stage gets the same images at the same
frames and strength, each encoded again at that stage's size. diffusers' `LTX2ConditionPipeline` does both;
`KeyframeConditionPipeline` only moves its keyframes to the reference's positions.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
from diffusers import LTX2ConditionPipeline
from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition
from PIL import Image as PILImage
from PIL.Image import Image

from reelserve.engines.base import GenerationSpec
from reelserve.engines.ltx2.plan import TEMPORAL_GRID, Plan

# The reference takes a strength per --image; 1.0 keeps the frame clean through every step (its docs' examples
# and diffusers' first-last-frame example use it), so the frame is the image.
STRENGTH = 1.0


@dataclass(frozen=True)
class FrameImage:
    """An image that frame `frame` of a shot (0-based, in the shot's own frames) must show."""

    image: Image  # fitted to the render by `fit`: the delivered frame is exactly the image's centre
    frame: int


def shot_images(spec: GenerationSpec, plan: Plan, shot_index: int, shot_count: int) -> tuple[FrameImage, ...]:
    """The request's start image on the first shot's first frame, its end image on the last shot's last frame."""
    images = []
    if spec.start_image is not None and shot_index == 0:
        images.append(FrameImage(fit(spec.start_image, plan), 0))
    if spec.end_image is not None and shot_index == shot_count - 1:
        images.append(FrameImage(fit(spec.end_image, plan), plan.num_frames - 1))
    return tuple(images)


def fit(image: Image, plan: Plan) -> Image:
    """`image` center-cropped to the delivered aspect, then reflect-padded by what the render adds around the
    delivered frame (the engine crops that off again), at the image's own resolution so that each stage
    resizes it once. Reflect padding is how the reference aligns a size to its grid (hdr_ic_lora.py,
    `align_resolution(..., ResizeMode.REFLECT_PAD)`)."""
    rgb = np.asarray(image.convert("RGB"))
    height, width = rgb.shape[:2]
    scale = min(width / plan.width, height / plan.height)  # image pixels per delivered pixel
    crop_w, crop_h = max(1, round(plan.width * scale)), max(1, round(plan.height * scale))
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    rgb = rgb[top : top + crop_h, left : left + crop_w]
    # The engine crops (render - delivered) // 2 off the top and left: pad the same share there.
    pad_top = round((plan.render_height - plan.height) // 2 * scale)
    pad_left = round((plan.render_width - plan.width) // 2 * scale)
    pad_bottom = max(0, round(plan.render_height * scale) - crop_h - pad_top)
    pad_right = max(0, round(plan.render_width * scale) - crop_w - pad_left)
    mode = "reflect" if min(rgb.shape[:2]) > 1 else "edge"  # a one-pixel row has nothing to reflect
    padded = np.pad(rgb, ((pad_top, pad_bottom), (pad_left, pad_right), (0, 0)), mode=mode)
    return PILImage.fromarray(np.ascontiguousarray(padded))


def conditions(images: tuple[FrameImage, ...], box: tuple[float, float, float, float] | None = None) -> list[Any]:
    """The pipeline conditions for `images`; `box` (left, top, right, bottom as fractions of the render) crops
    each image to the part one spatial tile renders."""
    return [_condition(item.image if box is None else _crop(item.image, box), item.frame) for item in images]


def _condition(image: Image, frame: int) -> LTX2VideoCondition:
    if frame == 0:
        return LTX2VideoCondition(frames=image, index=0, strength=STRENGTH)
    # diffusers indexes conditions by latent frame: the one holding `frame`, so that it is kept and trimmed right.
    return Keyframe(frames=image, index=(frame - 1) // TEMPORAL_GRID + 1, strength=STRENGTH, frame=frame)


def _crop(image: Image, box: tuple[float, float, float, float]) -> Image:
    left, top, right, bottom = box
    return image.crop((round(left * image.width), round(top * image.height),
                       round(right * image.width), round(bottom * image.height)))


@dataclass
class Keyframe(LTX2VideoCondition):
    """A condition past the first frame, with the pixel frame the reference places it at."""

    frame: int = 0


class KeyframeConditionPipeline(LTX2ConditionPipeline):
    """diffusers' condition pipeline with each keyframe at its own pixel frame, [frame, frame + 1), as ltx-core's
    `VideoConditionByKeyframeIndex` places it. diffusers places a keyframe at the first pixel frame of its latent
    frame: for a clip's last frame, up to 7 frames early, so the clip would run on past the image."""

    @classmethod
    def over(cls, pipe: Any) -> KeyframeConditionPipeline:
        """This pipeline over `pipe`'s loaded components, as they are. Not `from_pipe`: it casts every shared
        component to float32 unless told a dtype, and a dtype would undo fp8 storage."""
        accepted = inspect.signature(cls.__init__).parameters
        conditioned = cls(**{name: part for name, part in pipe.components.items() if name in accepted})
        conditioned.set_progress_bar_config(disable=True)
        return conditioned

    def preprocess_conditions(self, conditions: Any = None, *args: Any, **kwargs: Any) -> Any:
        listed = [conditions] if isinstance(conditions, LTX2VideoCondition) else list(conditions or [])
        # prepare_latents asks for the coordinates of each keyframe in this order, right after this call.
        self._keyframe_frames = [c.frame for c in listed if isinstance(c, Keyframe)]
        return super().preprocess_conditions(conditions, *args, **kwargs)

    def _prepare_keyframe_coords(self, *args: Any, pixel_frame_idx: int, **kwargs: Any) -> Any:
        return super()._prepare_keyframe_coords(*args, pixel_frame_idx=self._keyframe_frames.pop(0), **kwargs)
