"""LTX-2 through diffusers' `LTX2Pipeline`: video and synchronized audio from one model."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reelserve.catalog import Recipe
from reelserve.engines.base import Clip, EngineInfo, GenerationSpec, ProgressCallback
from reelserve.errors import EngineInputError, EngineOutOfMemoryError, GenerationError, WeightsUnavailableError

log = logging.getLogger(__name__)

TINY = "tiny"
AUTO = "auto"
LATENT_GRID = 32  # LTX-2 works on multiples of 32 pixels; outputs are center-cropped to the exact size
TEMPORAL_GRID = 8  # and on 8k+1 frames; extra frames are dropped from the end


@dataclass(frozen=True)
class Plan:
    """Sizes for one generation: what the pipeline renders and what is delivered."""

    width: int
    height: int
    render_width: int
    render_height: int
    num_frames: int
    render_frames: int
    steps: int
    guidance_scale: float
    audio_guidance_scale: float


def guidance_for(cfg_scale: float, tuned: float) -> float:
    """cfg_scale 0..1 onto pipeline guidance, monotonic: 0 -> 1.0 (no CFG pass), 0.5 -> tuned, 1 -> 2*tuned-1."""
    return 1.0 + 2.0 * cfg_scale * (tuned - 1.0)


def _round_up(value: int, multiple: int) -> int:
    return math.ceil(value / multiple) * multiple


def _tiny_size(recipe: Recipe, aspect_ratio: str) -> tuple[int, int]:
    # Keep the tier visible at toy scale: pro is 1/6 of 1080p class, standard 1/5 of 720p class.
    divisor = 6 if recipe.tier == "pro" else 5
    width, height = recipe.sizes[aspect_ratio]  # type: ignore[index]
    return width // divisor // 2 * 2, height // divisor // 2 * 2


class Ltx2Engine:
    family = "ltx2"

    def __init__(self, pipe: Any, info: EngineInfo, *, tiny: bool, max_sequence_length: int) -> None:
        self.pipe = pipe
        self.info = info
        self.tiny = tiny
        self.max_sequence_length = max_sequence_length

    # --- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, weights: str, *, device: str = AUTO, cache_dir: Path, checkpoint: str) -> Ltx2Engine:
        """Load once and keep warm. `weights`: auto, tiny, a hub id, or a local directory."""
        import torch

        device = ("cuda" if torch.cuda.is_available() else "cpu") if device == AUTO else device
        if weights == AUTO:
            weights = checkpoint if device.startswith("cuda") else TINY
        tiny = weights == TINY
        dtype = torch.bfloat16 if device.startswith("cuda") and not tiny else torch.float32
        pipe = cls._from_pretrained(weights, cache_dir, dtype)
        pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        info = EngineInfo(cls.family, weights, tiny, device, str(dtype).removeprefix("torch."))
        if tiny:
            log.warning(
                "ENGINE USES TINY RANDOM WEIGHTS: videos are noise (shapes, durations, audio and timings are "
                "real). Run with --weights %s on a CUDA machine for real videos.", checkpoint,
            )
        return cls(pipe, info, tiny=tiny, max_sequence_length=256 if tiny else 1024)

    @staticmethod
    def _from_pretrained(weights: str, cache_dir: Path, dtype: Any) -> Any:
        from diffusers import LTX2Pipeline

        from reelserve.engines.ltx2_tiny import ensure_tiny_weights

        source = str(ensure_tiny_weights(cache_dir)) if weights == TINY else weights
        try:
            return LTX2Pipeline.from_pretrained(source, dtype=dtype)
        except (OSError, ValueError) as exc:
            where = "local directory" if Path(source).exists() else "Hugging Face hub id"
            raise WeightsUnavailableError(
                f"could not load LTX-2 weights from {where} {source!r}: {exc}. "
                "Pass --weights tiny for the offline test weights, or a directory holding a diffusers LTX-2 checkpoint."
            ) from exc

    # --- generation --------------------------------------------------------------------------

    def plan(self, spec: GenerationSpec) -> Plan:
        recipe = spec.recipe
        if self.tiny:
            width, height = _tiny_size(recipe, spec.aspect_ratio)
        else:
            width, height = recipe.sizes[spec.aspect_ratio]  # type: ignore[index]
        frames = spec.num_frames
        return Plan(
            width=width,
            height=height,
            render_width=_round_up(width, LATENT_GRID),
            render_height=_round_up(height, LATENT_GRID),
            num_frames=frames,
            render_frames=_round_up(frames - 1, TEMPORAL_GRID) + 1,
            steps=max(2, recipe.num_inference_steps // 10) if self.tiny else recipe.num_inference_steps,
            guidance_scale=guidance_for(spec.cfg_scale, recipe.guidance_scale),
            audio_guidance_scale=guidance_for(spec.cfg_scale, recipe.audio_guidance_scale),
        )

    def generate(self, spec: GenerationSpec, on_progress: ProgressCallback | None = None) -> Clip:
        import torch

        # 1. Plan sizes, frame counts and guidance for this request
        plan = self.plan(spec)
        generator = torch.Generator(device="cpu").manual_seed(spec.seed)

        # 2. Run the pipeline; the step callback reports progress
        def on_step(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            if on_progress is not None:
                on_progress(100.0 * (step + 1) / plan.steps)
            return {}

        started = time.perf_counter()
        try:
            with torch.inference_mode():
                output = self.pipe(
                    prompt=spec.prompt,
                    negative_prompt=spec.negative_prompt or "",
                    width=plan.render_width,
                    height=plan.render_height,
                    num_frames=plan.render_frames,
                    frame_rate=float(spec.recipe.fps),
                    num_inference_steps=plan.steps,
                    guidance_scale=plan.guidance_scale,
                    audio_guidance_scale=plan.audio_guidance_scale,
                    # Spatio-temporal and modality guidance are off until a recipe tunes them.
                    stg_scale=0.0,
                    audio_stg_scale=0.0,
                    modality_scale=1.0,
                    audio_modality_scale=1.0,
                    spatio_temporal_guidance_blocks=None,
                    generator=generator,
                    max_sequence_length=self.max_sequence_length,
                    output_type="np",
                    callback_on_step_end=on_step,
                )
        except torch.cuda.OutOfMemoryError as exc:
            raise EngineOutOfMemoryError() from exc
        except ValueError as exc:
            raise EngineInputError(f"the engine rejected this input: {exc}") from exc
        except RuntimeError as exc:
            raise GenerationError(f"the engine failed while generating: {exc}") from exc
        generate_seconds = time.perf_counter() - started

        # 3. Trim to the exact frame count and crop to the delivered size
        frames = _to_uint8(output.frames[0][: plan.num_frames])
        frames = _center_crop(frames, plan.width, plan.height)

        # 4. Audio exactly as long as the video, or none at all
        audio, sample_rate = None, None
        if spec.sound:
            sample_rate = int(self.pipe.vocoder.config.output_sampling_rate)
            audio = _fit_audio(output.audio[0], round(plan.num_frames / spec.recipe.fps * sample_rate))

        return Clip(frames, spec.recipe.fps, audio, sample_rate, timings={"generate_seconds": generate_seconds})


def _to_uint8(frames: Any) -> np.ndarray:
    array = np.asarray(frames, dtype=np.float32)
    return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _center_crop(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    top = (frames.shape[1] - height) // 2
    left = (frames.shape[2] - width) // 2
    return np.ascontiguousarray(frames[:, top : top + height, left : left + width])


def _fit_audio(audio: Any, samples: int) -> np.ndarray:
    """(channels, n) float32 of exactly `samples`; the vocoder's output may differ by a few hops."""
    array = np.asarray(audio.float().cpu() if hasattr(audio, "float") else audio, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.shape[1] >= samples:
        return np.ascontiguousarray(array[:, :samples])
    # Rendering 8k+1 frames covers the duration, so any shortfall is a fraction of a mel hop.
    return np.pad(array, ((0, 0), (0, samples - array.shape[1])))
