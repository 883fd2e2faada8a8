"""LTX-2 through diffusers' `LTX2Pipeline`: video and synchronized audio from one model."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reelserve.catalog import Recipe
from reelserve.engines.base import Clip, EngineInfo, GenerationSpec, ProgressCallback
from reelserve.engines.shots import ShotPlan
from reelserve.media.join import crossfade_samples, join_shots
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

    def plan(self, spec: GenerationSpec, shot: ShotPlan | None = None) -> Plan:
        recipe = spec.recipe
        if self.tiny:
            width, height = _tiny_size(recipe, spec.aspect_ratio)
        else:
            width, height = recipe.sizes[spec.aspect_ratio]  # type: ignore[index]
        frames = spec.num_frames if shot is None else shot.frames
        return Plan(
            width=width,
            height=height,
            render_width=_round_up(width, LATENT_GRID),
            render_height=_round_up(height, LATENT_GRID),
            num_frames=frames,
            # 8k+1 frames and at least one past the cut, so the audio runs on into the crossfade.
            render_frames=_round_up(frames, TEMPORAL_GRID) + 1,
            steps=max(2, recipe.num_inference_steps // 10) if self.tiny else recipe.num_inference_steps,
            guidance_scale=guidance_for(spec.cfg_scale, recipe.guidance_scale),
            audio_guidance_scale=guidance_for(spec.cfg_scale, recipe.audio_guidance_scale),
        )

    def generate(self, spec: GenerationSpec, on_progress: ProgressCallback | None = None) -> Clip:
        # 1. Plan the shots; audio, when asked for, comes at the vocoder's rate
        shots = spec.shot_plans
        sample_rate = int(self.pipe.vocoder.config.output_sampling_rate) if spec.sound else None
        fade = crossfade_samples(sample_rate) if sample_rate else 0
        started = time.perf_counter()

        # 2. Render each shot: exact frame count, delivered size, audio up to its cut plus the crossfade
        parts: list[tuple[np.ndarray, np.ndarray | None]] = []
        for index, shot in enumerate(shots):
            plan = self.plan(spec, shot)
            report = _shot_progress(on_progress, index, len(shots))
            video, raw_audio = self._run_pipeline(spec, plan, shot.prompt, spec.seed + index, report)
            frames = _center_crop(_to_uint8(video[: plan.num_frames]), plan.width, plan.height)
            audio = None
            if sample_rate is not None:
                tail = fade if index < len(shots) - 1 else 0
                audio = _fit_audio(raw_audio, round(plan.num_frames / spec.recipe.fps * sample_rate) + tail)
            parts.append((frames, audio))

        # 3. Join with hard cuts and one continuous audio track
        clip = join_shots(parts, spec.recipe.fps, sample_rate)
        clip.timings = {"generate_seconds": time.perf_counter() - started}
        return clip

    def _skips_audio_decode(self, spec: GenerationSpec) -> bool:
        # Without sound, stop at latents and decode only the video: the audio VAE and vocoder never run.
        # A VAE with timestep conditioning adds decode noise inside the pipeline, so it keeps the full path.
        return not spec.sound and not self.pipe.vae.config.timestep_conditioning

    def _decode_video(self, latents: Any) -> np.ndarray:
        """What LTX2Pipeline does after denoising for a VAE without timestep conditioning, video only."""
        video = self.pipe.vae.decode(latents.to(self.pipe.vae.dtype), None, return_dict=False)[0]
        return self.pipe.video_processor.postprocess_video(video, output_type="np")[0]

    def _run_pipeline(self, spec: GenerationSpec, plan: Plan, prompt: str, seed: int,
                      report: Callable[[float], None]) -> tuple[np.ndarray, Any]:
        """One generation: (frames as floats in 0..1, audio or None)."""
        import torch

        def on_step(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            report((step + 1) / plan.steps)
            return {}

        video_only = self._skips_audio_decode(spec)
        try:
            with torch.inference_mode():
                output = self.pipe(
                    prompt=prompt,
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
                    generator=torch.Generator(device="cpu").manual_seed(seed),
                    max_sequence_length=self.max_sequence_length,
                    output_type="latent" if video_only else "np",
                    callback_on_step_end=on_step,
                )
                if video_only:
                    return self._decode_video(output.frames), None
                return output.frames[0], output.audio[0]
        except torch.cuda.OutOfMemoryError as exc:
            raise EngineOutOfMemoryError() from exc
        except ValueError as exc:
            raise EngineInputError(f"the engine rejected this input: {exc}") from exc
        except RuntimeError as exc:
            raise GenerationError(f"the engine failed while generating: {exc}") from exc


def _shot_progress(on_progress: ProgressCallback | None, index: int, count: int) -> Callable[[float], None]:
    """Map one shot's 0..1 onto the whole request's 0..100, so progress never goes back between shots."""

    def report(fraction: float) -> None:
        if on_progress is not None:
            on_progress(100.0 * (index + fraction) / count)

    return report


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
