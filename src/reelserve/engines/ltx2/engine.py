"""LTX-2 through diffusers' `LTX2Pipeline`: video and synchronized audio from one model, in two stages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES, STAGE_2_DISTILLED_SIGMA_VALUES
from diffusers.utils import logging as diffusers_logging
from huggingface_hub.utils import are_progress_bars_disabled

from reelserve.engines.base import EngineInfo, GenerationSpec, ProgressCallback
from reelserve.engines.ltx2.layout import LORA_ADAPTER
from reelserve.engines.ltx2.plan import UPSAMPLE, Plan, Scale, plan_for
from reelserve.engines.ltx2.sources import AUTO, weights_source
from reelserve.engines.ltx2.weights import WeightsSource
from reelserve.engines.runtime import RuntimeOptions, text_encoder_on
from reelserve.engines.runtime import apply as apply_runtime
from reelserve.engines.shots import ShotPlan
from reelserve.engines.timing import StageClock
from reelserve.errors import EngineInputError, EngineOutOfMemoryError, GenerationError
from reelserve.media import Clip
from reelserve.media.join import crossfade_samples, join_shots

log = logging.getLogger(__name__)

# diffusers has its own progress-bar switch; it follows the Hub's (HF_HUB_DISABLE_PROGRESS_BARS, which
# transformers reads too), set by `reelserve serve` and `worker` when stderr is not a terminal, so
# that a log file never fills with bars and carriage returns.
if are_progress_bars_disabled():
    diffusers_logging.disable_progress_bar()


class Ltx2Engine:
    """LTX-2 in two stages: a half-size render (full model with CFG, or the distilled LoRA), a 2x latent
    upsample, and a 3-step refinement with the distilled LoRA. One loaded transformer serves every tier.

    Not thread-safe: a generation swaps the scheduler and the LoRA in place. A worker runs one at a time.
    """

    family = "ltx2"

    def __init__(self, pipe: Any, upsampler: Any, info: EngineInfo, *, scale: Scale, device: str,
                 options: RuntimeOptions) -> None:
        from diffusers import FlowMatchEulerDiscreteScheduler, LTX2LatentUpsamplePipeline

        self.pipe = pipe
        pipe.video_processor = _DecodedFrames(pipe.video_processor)
        self.info = info
        self.scale = scale  # the weights source's: full size, or toy size for the tiny test weights
        self.device = device
        self.options = options
        self.upsample_pipe = LTX2LatentUpsamplePipeline(vae=pipe.vae, latent_upsampler=upsampler)
        # The checkpoint's scheduler shifts its sigmas by resolution; the distilled schedules are used
        # exactly as trained, so passes that bring their own sigmas get a scheduler that leaves them be.
        self.scheduler = pipe.scheduler
        self.fixed_scheduler = FlowMatchEulerDiscreteScheduler.from_config(
            pipe.scheduler.config, use_dynamic_shifting=False, shift_terminal=None
        )
        self.clock = StageClock(device)
        self.clock.wrap(pipe.vae, "decode", "vae_decode")
        self.clock.wrap(pipe.audio_vae, "decode", "audio_decode")
        self.clock.wrap(pipe.vocoder, "forward", "audio_decode")

    # --- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, weights: str, *, device: str = AUTO, cache_dir: Path, checkpoint: str,
             options: RuntimeOptions | None = None) -> Ltx2Engine:
        """Load once and keep warm. `weights`: auto, tiny, random-full, a hub id, or a local directory."""
        import torch

        device = ("cuda" if torch.cuda.is_available() else "cpu") if device == AUTO else device
        source = weights_source(weights, device=device, cache_dir=cache_dir, checkpoint=checkpoint)
        return cls.from_source(source, device=device, options=options or RuntimeOptions(), checkpoint=checkpoint)

    @classmethod
    def from_source(cls, source: WeightsSource, *, device: str, options: RuntimeOptions,
                    checkpoint: str) -> Ltx2Engine:
        """Load `source`'s components onto `device` with the runtime options applied; `checkpoint` is what
        the random-weights warning tells the operator to run instead."""
        dtype = options.torch_dtype(device)
        pipe, upsampler = source.load(dtype, device)
        applied = apply_runtime(pipe, options, device, dtype)
        upsampler.to(device)
        pipe.set_progress_bar_config(disable=True)
        info = EngineInfo(cls.family, source.name, source.random_weights, device, str(dtype).removeprefix("torch."),
                          settings=tuple(applied))
        if source.random_weights:
            log.warning(
                "ENGINE USES RANDOM WEIGHTS (%s): videos are noise (shapes, durations, audio and timings are "
                "real). Run with --weights %s on a CUDA machine for real videos.", source.name, checkpoint,
            )
        return cls(pipe, upsampler, info, scale=source.scale, device=device, options=options)

    # --- planning ----------------------------------------------------------------------------

    def plan(self, spec: GenerationSpec, shot: ShotPlan | None = None) -> Plan:
        return plan_for(spec, self.scale, shot)

    # --- generation --------------------------------------------------------------------------

    def generate(self, spec: GenerationSpec, on_progress: ProgressCallback | None = None) -> Clip:
        # 1. Plan the shots; audio, when asked for, comes at the vocoder's rate
        shots = spec.shot_plans
        sample_rate = int(self.pipe.vocoder.config.output_sampling_rate) if spec.sound else None
        fade = crossfade_samples(sample_rate) if sample_rate else 0
        plans = [self.plan(spec, shot) for shot in shots]
        progress = _Progress(on_progress, sum(p.work for p in plans))
        self.clock.reset()
        started = time.perf_counter()

        # 2. Render each shot: exact frame count, delivered size, audio up to its cut plus the crossfade
        parts: list[tuple[np.ndarray, np.ndarray | None]] = []
        for index, (shot, plan) in enumerate(zip(shots, plans)):
            video, raw_audio = self._render_shot(spec, plan, shot.prompt, spec.seed + index, progress)
            frames = frames_to_uint8(video, plan.num_frames, plan.width, plan.height)
            audio = None
            if sample_rate is not None:
                tail = fade if index < len(shots) - 1 else 0
                audio = _fit_audio(raw_audio, round(plan.num_frames / spec.recipe.fps * sample_rate) + tail)
            parts.append((frames, audio))

        # 3. Join with hard cuts and one continuous audio track
        clip = join_shots(parts, spec.recipe.fps, sample_rate)
        clip.timings = {"generate_seconds": time.perf_counter() - started, **self._stage_timings(plans)}
        return clip

    def _stage_timings(self, plans: list[Plan]) -> dict[str, float]:
        seconds = dict(self.clock.seconds)
        decode = seconds.get("vae_decode", 0.0) + seconds.get("audio_decode", 0.0)
        timings = {f"{name}_seconds": value for name, value in seconds.items()}
        # Stage 2 (or a single stage) ends by decoding; its denoising time is what is left.
        last = "stage2" if "stage2" in seconds else "stage1"
        timings[f"{last}_seconds"] = max(0.0, seconds.get(last, 0.0) - decode)
        timings["stage1_step_seconds"] = timings.get("stage1_seconds", 0.0) / max(1, sum(p.steps for p in plans))
        if "stage2" in seconds:
            timings["stage2_step_seconds"] = timings["stage2_seconds"] / max(1, sum(p.refine_steps for p in plans))
        return timings

    def _render_shot(self, spec: GenerationSpec, plan: Plan, prompt: str, seed: int,
                     progress: _Progress) -> tuple[np.ndarray, Any]:
        """One shot through every stage: (frames (C, F, H, W) in -1..1 on the device, audio or None)."""
        import torch

        video_only = self._skips_audio_decode(spec)
        generator = torch.Generator(device="cpu").manual_seed(seed)
        try:
            with torch.inference_mode():
                text = self._encode(prompt, spec.negative_prompt, guided=plan.guidance_scale > 1
                                    or plan.audio_guidance_scale > 1)
                # "pt": the frames stay on the device, as decoded (_DecodedFrames), for frames_to_uint8.
                last = "latent" if video_only else "pt"
                with self.clock.section("stage1"):
                    output = self._stage1(spec, plan, text, generator, progress,
                                          "latent" if plan.refine_steps else last)
                if plan.refine_steps:
                    with self.clock.section("upsample"):
                        upsampled = self.upsample_pipe(latents=output.frames, output_type="latent",
                                                       return_dict=False)[0]
                    with self.clock.section("stage2"):
                        output = self._stage2(spec, plan, text, upsampled, output.audio, generator, progress, last)
                if video_only:
                    with self.clock.section("stage2" if plan.refine_steps else "stage1"):
                        return self._decode_video(output.frames), None
                return output.frames[0], output.audio[0]
        except torch.cuda.OutOfMemoryError as exc:
            raise EngineOutOfMemoryError() from exc
        except ValueError as exc:
            raise EngineInputError(f"the engine rejected this input: {exc}") from exc
        except RuntimeError as exc:
            raise GenerationError(f"the engine failed while generating: {exc}") from exc

    def _encode(self, prompt: str, negative_prompt: str | None, *, guided: bool) -> dict[str, Any]:
        """Encode once per shot; both stages reuse the embeddings, so the text encoder can go back to the CPU."""
        with self.clock.section("text_encode"), text_encoder_on(self.pipe, self.device, self.options):
            embeds, mask, negative, negative_mask = self.pipe.encode_prompt(
                prompt=prompt, negative_prompt=negative_prompt or "", do_classifier_free_guidance=guided,
                max_sequence_length=self.scale.max_sequence_length, device=self.device,
            )
        text = {"prompt_embeds": embeds, "prompt_attention_mask": mask}
        if guided:
            text |= {"negative_prompt_embeds": negative, "negative_prompt_attention_mask": negative_mask}
        return text

    def _stage1(self, spec: GenerationSpec, plan: Plan, text: dict[str, Any], generator: Any,
                progress: _Progress, output_type: str) -> Any:
        width, height = plan.stage1_size
        distilled = spec.recipe.distilled
        self._use_lora(distilled)
        self.pipe.scheduler = self.fixed_scheduler if distilled else self.scheduler
        return self._denoise(
            spec, plan, text, generator, output_type, progress.step_callback(1.0),
            width=width,
            height=height,
            num_inference_steps=plan.steps,
            sigmas=list(DISTILLED_SIGMA_VALUES) if distilled else None,
            guidance_scale=plan.guidance_scale,
            audio_guidance_scale=plan.audio_guidance_scale,
        )

    def _stage2(self, spec: GenerationSpec, plan: Plan, text: dict[str, Any], latents: Any, audio_latents: Any,
                generator: Any, progress: _Progress, output_type: str) -> Any:
        """Refine the upsampled latents with the distilled LoRA: re-noise to the first stage-2 sigma, 3 steps."""
        self._use_lora(True)
        self.pipe.scheduler = self.fixed_scheduler
        sigmas = list(STAGE_2_DISTILLED_SIGMA_VALUES[-plan.refine_steps:])
        positive = {k: v for k, v in text.items() if not k.startswith("negative")}
        return self._denoise(
            spec, plan, positive, generator, output_type, progress.step_callback(float(UPSAMPLE**2)),
            latents=latents,
            audio_latents=audio_latents,
            width=plan.render_width,
            height=plan.render_height,
            num_inference_steps=len(sigmas),
            noise_scale=sigmas[0],
            sigmas=sigmas,
            guidance_scale=1.0,
            audio_guidance_scale=1.0,
        )

    def _denoise(self, spec: GenerationSpec, plan: Plan, text: dict[str, Any], generator: Any, output_type: str,
                 on_step: Callable[..., dict[str, Any]], **stage: Any) -> Any:
        """One pipeline pass: what every stage passes alike, plus the stage's own size, schedule and guidance."""
        return self.pipe(
            **text,
            **_GUIDANCE_OFF,
            **stage,
            num_frames=plan.render_frames,
            frame_rate=float(spec.recipe.fps),
            generator=generator,
            max_sequence_length=self.scale.max_sequence_length,
            output_type=output_type,
            callback_on_step_end=on_step,
        )

    def _use_lora(self, on: bool) -> None:
        if on:
            self.pipe.enable_lora()
            self.pipe.set_adapters(LORA_ADAPTER, 1.0)
        else:
            self.pipe.disable_lora()

    def _skips_audio_decode(self, spec: GenerationSpec) -> bool:
        # Without sound, stop at latents and decode only the video: the audio VAE and vocoder never run.
        # A VAE with timestep conditioning adds decode noise inside the pipeline, so it keeps the full path.
        return not spec.sound and not self.pipe.vae.config.timestep_conditioning

    def _decode_video(self, latents: Any) -> Any:
        """What LTX2Pipeline does after denoising for a VAE without timestep conditioning, video only."""
        return self.pipe.vae.decode(latents.to(self.pipe.vae.dtype), None, return_dict=False)[0][0]


# Spatio-temporal and modality guidance stay off (diffusers' defaults turn some on): no recipe tunes them.
_GUIDANCE_OFF: dict[str, Any] = {
    "stg_scale": 0.0, "audio_stg_scale": 0.0, "modality_scale": 1.0, "audio_modality_scale": 1.0,
    "spatio_temporal_guidance_blocks": None,
}


class _Progress:
    """Maps every denoising step of every shot and stage onto 0..100, weighted by its cost, never backwards."""

    def __init__(self, on_progress: ProgressCallback | None, total_work: float) -> None:
        self._report = on_progress
        self._total = total_work
        self._done = 0.0

    def step_callback(self, weight: float) -> Callable[..., dict[str, Any]]:
        def on_step(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            self._done += weight
            if self._report is not None:
                self._report(min(100.0, 100.0 * self._done / self._total))
            return {}

        return on_step


class _DecodedFrames:
    """The pipeline's video processor, except that its postprocessing hands the frames back as the VAE
    decoded them: (batch, C, F, H, W) in -1..1, on the device.

    diffusers' `postprocess_video` makes several full-size float passes (denormalize, clamp, permute)
    over frames that are then cropped anyway; `frames_to_uint8` does the same arithmetic in one pass
    over the cropped frames (4x faster on a CPU; bench/frames.py).
    """

    def __init__(self, processor: Any) -> None:
        self._processor = processor

    def postprocess_video(self, video: Any, output_type: str = "np", **kwargs: Any) -> Any:
        return video

    def __getattr__(self, name: str) -> Any:
        return getattr(self._processor, name)


def frames_to_uint8(video: Any, num_frames: int, width: int, height: int) -> np.ndarray:
    """(C, F, H, W) as the VAE decodes them, -1..1 on the engine's device -> the first `num_frames`,
    center-cropped to width x height, as (F, height, width, 3) uint8 on the host.

    Cropped and converted where the frames are, so a quarter of the bytes cross to host memory and
    the CPU never loops over the floats (a 720p, 121-frame clip is 1.3 GB of float32).
    """
    import torch

    top = (video.shape[2] - height) // 2
    left = (video.shape[3] - width) // 2
    frames = video[:, :num_frames, top : top + height, left : left + width].to(torch.float32, copy=True)
    # What diffusers' denormalize and the numpy conversion did, (x / 2 + 0.5) * 255 + 0.5 then truncated,
    # as one in-place pass; the different float rounding moves a pixel by at most one level.
    frames.mul_(127.5).add_(128.0).clamp_(0.0, 255.0)
    return frames.to(torch.uint8).permute(1, 2, 3, 0).contiguous().cpu().numpy()


def _fit_audio(audio: Any, samples: int) -> np.ndarray:
    """(channels, n) float32 of exactly `samples`; the vocoder's output may differ by a few hops."""
    array = np.asarray(audio.float().cpu() if hasattr(audio, "float") else audio, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.shape[1] >= samples:
        return np.ascontiguousarray(array[:, :samples])
    # Rendering 8k+1 frames covers the duration, so any shortfall is a fraction of a mel hop.
    return np.pad(array, ((0, 0), (0, samples - array.shape[1])))
