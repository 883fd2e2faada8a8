"""The LTX families through diffusers' `LTX2Pipeline`: video and synchronized audio from one model, in two stages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from diffusers.utils import logging as diffusers_logging
from huggingface_hub.utils import are_progress_bars_disabled

from reelserve.engines.base import EngineInfo, GenerationSpec, ProgressCallback
from reelserve.engines.ltx2.conditioning import FrameImage, KeyframeConditionPipeline, conditions, shot_images
from reelserve.engines.ltx2.families import DEFAULT_FAMILY, UNGUIDED, Family, Guidance, family_named
from reelserve.engines.ltx2.layout import LORA_ADAPTER
from reelserve.engines.ltx2.plan import LATENT_GRID, Plan, Scale, plan_for
from reelserve.engines.ltx2.sources import AUTO, weights_source
from reelserve.engines.ltx2.tiles import Tile, tiles_for
from reelserve.engines.ltx2.weights import WeightsSource
from reelserve.engines.memory import choose_memory_plan, component_bytes, decode_tiling, free_device_bytes
from reelserve.engines.runtime import RuntimeOptions, text_encoder_on
from reelserve.engines.runtime import apply as apply_runtime
from reelserve.engines.shots import ShotPlan
from reelserve.engines.timing import StageClock
from reelserve.errors import EngineInputError, EngineOutOfMemoryError, GenerationError
from reelserve.media import Clip
from reelserve.media.join import crossfade_samples, join_shots

log = logging.getLogger(__name__)
HOST_CHUNK_FRAMES = 16  # frames converted to uint8 at a time, on the device

# diffusers has its own progress-bar switch; it follows the Hub's (HF_HUB_DISABLE_PROGRESS_BARS, which
# transformers reads too), set by `reelserve serve` and `worker` when stderr is not a terminal, so
# that a log file never fills with bars and carriage returns.
if are_progress_bars_disabled():
    diffusers_logging.disable_progress_bar()


class Ltx2Engine:
    """An LTX family in stages, as Lightricks' reference pipelines run it: a half-size render (the full
    model with multimodal guidance for pro, the distilled LoRA for standard), a 2x latent upsample, and a
    3-step refinement with the distilled LoRA; the 4K tier upsamples and refines once more, in tiles. Start
    and end images condition every stage (conditioning.py). One loaded transformer serves every tier.

    Not thread-safe: a generation swaps the LoRA in place. A worker runs one at a time.
    """

    def __init__(self, pipe: Any, upsampler: Any, info: EngineInfo, *, family: Family, scale: Scale, device: str,
                 options: RuntimeOptions, enhance_prompt: bool = True) -> None:
        from diffusers import FlowMatchEulerDiscreteScheduler, LTX2LatentUpsamplePipeline

        self.pipe = pipe
        self.info = info
        self.family = family
        self.scale = scale  # the weights source's: full size, or toy size for the tiny test weights
        self.device = device
        self.options = options
        self.upsample_pipe = LTX2LatentUpsamplePipeline(vae=pipe.vae, latent_upsampler=upsampler)
        # Every stage brings its own sigmas (the reference schedule or the distilled ones), so the scheduler
        # uses them as given: no resolution shift, no terminal stretch (reference_sigmas stretched already).
        pipe.scheduler = FlowMatchEulerDiscreteScheduler.from_config(
            pipe.scheduler.config, use_dynamic_shifting=False, shift_terminal=None, shift=1.0
        )
        # The same components, that scheduler included, for shots with a start or end image; shots without one keep
        # LTX2Pipeline.
        self.conditioned = KeyframeConditionPipeline.over(pipe)
        self.enhancer = prompt_enhancer(pipe, family)  # the system prompt, or None: this checkpoint cannot enhance
        self.enhance_default = enhance_prompt and family.enhance_by_default and self.enhancer is not None
        self.clock = StageClock(device)
        self.clock.wrap(pipe.vae, "decode", "vae_decode")
        self.clock.wrap(pipe.audio_vae, "decode", "audio_decode")
        self.clock.wrap(pipe.vocoder, "forward", "audio_decode")

    # --- loading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, weights: str, *, family: str = DEFAULT_FAMILY, device: str = AUTO, cache_dir: Path,
             options: RuntimeOptions | None = None, enhance_prompt: bool = True) -> Ltx2Engine:
        """Load once and keep warm. `weights`: auto, tiny, random-full, a hub id, or a local directory."""
        import torch

        chosen = family_named(family)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if device == AUTO else device
        source = weights_source(weights, chosen, device=device, cache_dir=cache_dir)
        return cls.from_source(source, chosen, device=device, options=options or RuntimeOptions(),
                               enhance_prompt=enhance_prompt)

    @classmethod
    def from_source(cls, source: WeightsSource, family: Family, *, device: str, options: RuntimeOptions,
                    enhance_prompt: bool = True) -> Ltx2Engine:
        """Load `source`'s components onto `device`, placed by the memory plan, with the runtime options applied."""
        dtype = options.torch_dtype(device)
        log.info("loading %s weights (%s) for %s in %s", family.name, source.name, device,
                 str(dtype).removeprefix("torch."))
        pipe, upsampler = source.load(dtype, device)
        plan = choose_memory_plan(component_bytes(pipe, dtype), free_device_bytes(device), options)
        log.info("memory plan for %s: %s", device, plan.describe())
        applied = apply_runtime(pipe, plan.options, device, dtype)
        upsampler.to(device)
        pipe.set_progress_bar_config(disable=True)
        info = EngineInfo(family.name, source.name, source.random_weights, device, str(dtype).removeprefix("torch."),
                          settings=tuple(applied), memory_plan=plan.name,
                          prompt_enhancer=prompt_enhancer(pipe, family) is not None)
        if source.random_weights:
            log.warning(
                "ENGINE USES RANDOM WEIGHTS (%s): videos are noise (shapes, durations, audio and timings are "
                "real). Run with --weights %s on a CUDA machine for real videos.", source.name, family.checkpoint,
            )
        return cls(pipe, upsampler, info, family=family, scale=source.scale, device=device, options=plan.options,
                   enhance_prompt=enhance_prompt)

    # --- planning ----------------------------------------------------------------------------

    def plan(self, spec: GenerationSpec, shot: ShotPlan | None = None) -> Plan:
        return plan_for(spec, self.scale, self.family.recipe(spec.recipe.tier), shot)

    # --- generation --------------------------------------------------------------------------

    def generate(self, spec: GenerationSpec, on_progress: ProgressCallback | None = None) -> Clip:
        # 1. Plan the shots; audio, when asked for, comes at the vocoder's rate (24 or 48 kHz by family)
        shots = spec.shot_plans
        sample_rate = int(self.pipe.vocoder.config.output_sampling_rate) if spec.sound else None
        fade = crossfade_samples(sample_rate) if sample_rate else 0
        plans = [self.plan(spec, shot) for shot in shots]
        progress = _Progress(on_progress, sum(p.work for p in plans))
        enhance = self._enhances(spec)
        self.clock.reset()
        started = time.perf_counter()

        # 2. Render each shot: exact frame count, delivered size, audio up to its cut plus the crossfade
        parts: list[tuple[np.ndarray, np.ndarray | None]] = []
        enhanced: list[str | None] = []
        for index, (shot, plan) in enumerate(zip(shots, plans)):
            prompt = self._enhance(shot.prompt, spec.seed + index) if enhance else None
            enhanced.append(prompt)
            images = shot_images(spec, plan, index, len(shots))
            video, raw_audio = self._render_shot(spec, plan, prompt or shot.prompt, spec.seed + index, images,
                                                 progress)
            frames = frames_to_uint8(video, plan.num_frames, plan.width, plan.height)
            audio = None
            if sample_rate is not None:
                tail = fade if index < len(shots) - 1 else 0
                audio = _fit_audio(raw_audio, round(plan.num_frames / spec.recipe.fps * sample_rate) + tail)
            parts.append((frames, audio))

        # 3. Join with hard cuts and one continuous audio track
        clip = join_shots(parts, spec.recipe.fps, sample_rate)
        clip.enhanced_prompts = tuple(enhanced)
        clip.timings = {"generate_seconds": time.perf_counter() - started, **self._stage_timings(plans)}
        return clip

    def _enhances(self, spec: GenerationSpec) -> bool:
        """The request's `enhance_prompt` where it says, else the server's default; never without an enhancer."""
        wanted = self.enhance_default if spec.enhance_prompt is None else spec.enhance_prompt
        return wanted and self.enhancer is not None

    def _enhance(self, prompt: str, seed: int) -> str | None:
        """The enhancer's rewrite of one shot's prompt, seeded as the reference seeds it (the generation seed)."""
        assert self.enhancer is not None
        model = "prompt_enhancer" if self.family.enhancer == "dedicated" else "text_encoder"
        with self.clock.section("enhance_prompt"), text_encoder_on(self.pipe, self.device, self.options, model):
            text = self.pipe.enhance_prompt(prompt=prompt, system_prompt=self.enhancer, seed=seed % 2**32,
                                            max_new_tokens=self.scale.enhancer_max_new_tokens, device=self.device)[0]
        return text.strip() or None  # an empty rewrite keeps the user's words

    def _stage_timings(self, plans: list[Plan]) -> dict[str, float]:
        seconds = dict(self.clock.seconds)
        timings = {f"{name}_seconds": value for name, value in seconds.items()}
        timings["stage1_step_seconds"] = seconds.get("stage1", 0.0) / max(1, sum(p.steps for p in plans))
        timings["stage2_step_seconds"] = seconds.get("stage2", 0.0) / max(1, sum(p.refine_steps for p in plans))
        return timings

    def _render_shot(self, spec: GenerationSpec, plan: Plan, prompt: str, seed: int, images: tuple[FrameImage, ...],
                     progress: _Progress) -> tuple[Any, Any]:
        """One shot through every stage: (frames (C, F, H, W) in -1..1 on the device, audio or None)."""
        import torch

        generator = torch.Generator(device="cpu").manual_seed(seed)
        try:
            with torch.inference_mode():
                text = self._encode(prompt, plan.negative_prompt)
                with self.clock.section("stage1"):
                    first = self._stage1(spec, plan, text, images, generator, progress)
                latents, audio = first.frames, {1: first.audio}
                for stage in range(2, plan.stage_count + 1):
                    with self.clock.section("upsample"):
                        latents = self.upsample_pipe(latents=latents, output_type="latent", return_dict=False)[0]
                    with self.clock.section(f"stage{stage}"):
                        latents, audio[stage] = self._refine(spec, plan, stage, text, latents, first.audio, images,
                                                             generator, seed, progress)
                frames = self._decode_video(latents, plan)
                if not spec.sound:  # the audio VAE and vocoder never run
                    return frames, None
                return frames, self._decode_audio(audio[plan.audio_from_stage])
        except torch.cuda.OutOfMemoryError as exc:
            raise EngineOutOfMemoryError() from exc
        except ValueError as exc:
            raise EngineInputError(f"the engine rejected this input: {exc}") from exc
        except RuntimeError as exc:
            raise GenerationError(f"the engine failed while generating: {exc}") from exc

    def _encode(self, prompt: str, negative_prompt: str | None) -> dict[str, Any]:
        """Encode once per shot; both stages reuse the embeddings, so the text encoder can go back to the CPU."""
        guided = negative_prompt is not None
        with self.clock.section("text_encode"), text_encoder_on(self.pipe, self.device, self.options):
            embeds, mask, negative, negative_mask = self.pipe.encode_prompt(
                prompt=prompt, negative_prompt=negative_prompt or "", do_classifier_free_guidance=guided,
                max_sequence_length=self.scale.max_sequence_length, device=self.device,
            )
        text = {"prompt_embeds": embeds, "prompt_attention_mask": mask}
        if guided:
            text |= {"negative_prompt_embeds": negative, "negative_prompt_attention_mask": negative_mask}
        return text

    def _stage1(self, spec: GenerationSpec, plan: Plan, text: dict[str, Any], images: tuple[FrameImage, ...],
                generator: Any, progress: _Progress) -> Any:
        width, height = plan.stage1_size
        self._use_lora(plan.distilled)
        return self._denoise(
            spec, plan, text, generator, progress.step_callback(float(plan.guidance.passes)),
            conditions(images),
            width=width,
            height=height,
            sigmas=list(plan.sigmas),
            **self._guidance(plan.guidance),
        )

    def _refine(self, spec: GenerationSpec, plan: Plan, stage: int, text: dict[str, Any], latents: Any,
                audio_latents: Any, images: tuple[FrameImage, ...], generator: Any, seed: int,
                progress: _Progress) -> tuple[Any, Any]:
        """Refine upsampled latents with the distilled LoRA, unguided: re-noise to the stage's first sigma, then its
        few steps, as one frame or tile by tile. Returns (video latents, audio latents or None when tiled)."""
        self._use_lora(True)
        refine = plan.refines[stage - 2]
        positive = {k: v for k, v in text.items() if not k.startswith("negative")}
        on_step = progress.step_callback(plan.stage_weight(stage))
        common = dict(audio_latents=audio_latents, noise_scale=refine.sigmas[0], sigmas=list(refine.sigmas),
                      **self._guidance(UNGUIDED))
        tiles = tiles_for(*latents.shape[-2:], refine)
        if len(tiles) > 1:
            return self._refine_tiled(spec, plan, positive, latents, tiles, images, seed, on_step, common), None
        width, height = plan.stage_size(stage)
        out = self._denoise(spec, plan, positive, generator, on_step, conditions(images), latents=latents,
                            width=width, height=height, **common)
        return out.frames, out.audio

    def _refine_tiled(self, spec: GenerationSpec, plan: Plan, text: dict[str, Any], latents: Any, tiles: list[Tile],
                      images: tuple[FrameImage, ...], seed: int, on_step: Callable[..., dict[str, Any]],
                      common: dict[str, Any]) -> Any:
        """Each tile denoised as a video of its own, with its own noise (seed + tile index) and its part of each
        image, as the reference's 4K refinement runs them, then blended by the tiles' weights. The tiles' audio is
        dropped: each denoised it beside a part of the picture only (the reference's note on tiled stages)."""
        import torch

        rows, columns = latents.shape[-2:]
        blended, total = torch.zeros_like(latents), torch.zeros((rows, columns), device=latents.device)
        for index, tile in enumerate(tiles):
            r, c = slice(tile.rows.start, tile.rows.stop), slice(tile.columns.start, tile.columns.stop)
            out = self._denoise(spec, plan, text, torch.Generator(device="cpu").manual_seed(seed + index), on_step,
                                conditions(images, tile.box(rows, columns)), latents=latents[..., r, c].contiguous(),
                                width=(c.stop - c.start) * LATENT_GRID, height=(r.stop - r.start) * LATENT_GRID,
                                **common)
            weight = tile.weight().to(latents.device)
            blended[..., r, c] += out.frames.to(blended.dtype) * weight.to(blended.dtype)
            total[r, c] += weight
        return blended / total.to(blended.dtype)

    def _denoise(self, spec: GenerationSpec, plan: Plan, text: dict[str, Any], generator: Any,
                 on_step: Callable[..., dict[str, Any]], images: list[Any], **stage: Any) -> Any:
        """One pipeline pass to latents: what every stage passes alike, plus the stage's size, schedule, guidance and
        image conditions (through the condition pipeline; a shot without images runs LTX2Pipeline)."""
        pipe, conditioned = (self.conditioned, {"conditions": images}) if images else (self.pipe, {})
        return pipe(
            **text,
            **stage,
            **conditioned,
            num_inference_steps=len(stage["sigmas"]),
            num_frames=plan.render_frames,
            frame_rate=float(spec.recipe.fps),
            use_cross_timestep=self.family.use_cross_timestep,
            generator=generator,
            max_sequence_length=self.scale.max_sequence_length,
            output_type="latent",
            callback_on_step_end=on_step,
        )

    def _guidance(self, guidance: Guidance) -> dict[str, Any]:
        """Every guidance term passed explicitly, so that none comes from diffusers' defaults."""
        depth = self.pipe.transformer.config.num_layers
        # The tiny test transformer has 2 blocks: STG perturbs its last, where a real one has block 28 or 29.
        blocks = [min(block, depth - 1) for block in guidance.stg_blocks] or None
        return {
            "guidance_scale": guidance.cfg, "audio_guidance_scale": guidance.audio_cfg,
            "stg_scale": guidance.stg, "audio_stg_scale": guidance.audio_stg,
            "modality_scale": guidance.modality, "audio_modality_scale": guidance.audio_modality,
            "guidance_rescale": guidance.rescale, "audio_guidance_rescale": guidance.audio_rescale,
            "spatio_temporal_guidance_blocks": blocks,
        }

    def _use_lora(self, on: bool) -> None:
        if on:
            self.pipe.enable_lora()
            self.pipe.set_adapters(LORA_ADAPTER, 1.0)
        else:
            self.pipe.disable_lora()

    def _decode_video(self, latents: Any, plan: Plan) -> Any:
        """What LTX2Pipeline does after denoising, at its default decode timestep (0: no decode noise); a frame past
        1080p also in temporal tiles (memory.py's DecodeTiling), which are switched off again afterwards."""
        import torch

        vae = self.pipe.vae
        timestep = torch.zeros(1, device=latents.device, dtype=vae.dtype) if vae.config.timestep_conditioning else None
        tiling = decode_tiling(plan.render_width, plan.render_height)
        before = (vae.use_framewise_decoding, vae.tile_sample_min_num_frames, vae.tile_sample_stride_num_frames)
        if tiling is not None:
            vae.use_framewise_decoding = True
            vae.tile_sample_min_num_frames, vae.tile_sample_stride_num_frames = tiling.tile_frames, tiling.stride_frames
        try:
            return vae.decode(latents.to(vae.dtype), timestep, return_dict=False)[0][0]
        finally:
            vae.use_framewise_decoding, vae.tile_sample_min_num_frames, vae.tile_sample_stride_num_frames = before

    def _decode_audio(self, latents: Any) -> Any:
        """What LTX2Pipeline does with audio latents: the audio VAE to a mel spectrogram, the vocoder to sound."""
        audio_vae = self.pipe.audio_vae
        mel = audio_vae.decode(latents.to(audio_vae.dtype), return_dict=False)[0]
        return self.pipe.vocoder(mel)[0]


def prompt_enhancer(pipe: Any, family: Family) -> str | None:
    """The system prompt enhancement runs with, or None where this checkpoint cannot enhance: that needs a
    processor, and a dedicated enhancer model where the family has one (LTX-2.5's Gemma 4 E2B)."""
    from diffusers.pipelines.ltx2.utils import LTX2_5_T2V_DEFAULT_SYSTEM_PROMPT, T2V_DEFAULT_SYSTEM_PROMPT

    if getattr(pipe, "processor", None) is None:
        return None
    if family.enhancer == "dedicated":
        return LTX2_5_T2V_DEFAULT_SYSTEM_PROMPT if getattr(pipe, "prompt_enhancer", None) is not None else None
    return T2V_DEFAULT_SYSTEM_PROMPT


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



def frames_to_uint8(video: Any, num_frames: int, width: int, height: int) -> np.ndarray:
    """(C, F, H, W) as the VAE decodes them, -1..1 on the engine's device -> the first `num_frames`,
    center-cropped to width x height, as (F, height, width, 3) uint8 on the host.

    Cropped and converted where the frames are, so a quarter of the bytes cross to host memory and
    the CPU never loops over the floats (a 720p, 121-frame clip is 1.3 GB of float32).
    """
    import torch

    top = (video.shape[2] - height) // 2
    left = (video.shape[3] - width) // 2
    out = torch.empty((num_frames, height, width, 3), dtype=torch.uint8, device=video.device)
    for start in range(0, num_frames, HOST_CHUNK_FRAMES):  # a 4K clip in float32 at once would be 12 GiB
        stop = min(num_frames, start + HOST_CHUNK_FRAMES)
        frames = video[:, start:stop, top : top + height, left : left + width].to(torch.float32, copy=True)
        # What diffusers' denormalize and the numpy conversion did, (x / 2 + 0.5) * 255 + 0.5 then truncated,
        # as one in-place pass; the different float rounding moves a pixel by at most one level.
        frames.mul_(127.5).add_(128.0).clamp_(0.0, 255.0)
        out[start:stop] = frames.to(torch.uint8).permute(1, 2, 3, 0)
    return out.cpu().numpy()


def _fit_audio(audio: Any, samples: int) -> np.ndarray:
    """(channels, n) float32 of exactly `samples`; the vocoder's output may differ by a few hops."""
    array = np.asarray(audio.float().cpu() if hasattr(audio, "float") else audio, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.shape[1] >= samples:
        return np.ascontiguousarray(array[:, :samples])
    # Rendering 8k+1 frames covers the duration, so any shortfall is a fraction of a mel hop.
    return np.pad(array, ((0, 0), (0, samples - array.shape[1])))
