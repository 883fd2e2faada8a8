"""The LTX model families reelserve serves, as data: checkpoint, files, and one recipe per tier. Pure.

Every number below is Lightricks' own, read from their reference pipelines (ltx-pipelines in the
Lightricks/LTX-2 repository at commit 400fd31, and diffusers 0.42.1's `pipelines/ltx2/`); docs/models.md
lists each with its file. A family is chosen once per server (`REELSERVE_MODEL_FAMILY` / `--family`);
the tier of a request picks the recipe. Adding a family is one `Family` entry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

# ltx-pipelines `utils/constants.py`: DISTILLED_SIGMA_VALUES and STAGE_2_DISTILLED_SIGMA_VALUES, without
# the terminal 0.0 that diffusers' scheduler appends itself.
DISTILLED_SIGMAS = (1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875)
STAGE_2_SIGMAS = (0.909375, 0.725, 0.421875)
# ltx-pipelines `hdr_ic_lora.py` STAGE2_SIGMAS, its 4K refinement: the first two stage-2 sigmas, then 0.
FOUR_K_SIGMAS = STAGE_2_SIGMAS[:2]

# ltx-pipelines `utils/constants.py` DEFAULT_NEGATIVE_PROMPT at 400fd31: what every reference pipeline
# guides against when the caller names nothing. (diffusers 0.42.1 copies an older revision, without the
# five caption tags at its head.)
REFERENCE_NEGATIVE_PROMPT = (
    "has_subtitles, has_blurbox, transition from black, transition to black, speech_ending_short, "
    "blurry, out of focus, overexposed, underexposed, low contrast, washed out colors, excessive noise, "
    "grainy texture, poor lighting, flickering, motion blur, distorted proportions, unnatural skin tones, "
    "deformed facial features, asymmetrical face, missing facial features, extra limbs, disfigured hands, "
    "wrong hand count, artifacts around text, inconsistent perspective, camera shake, incorrect depth of "
    "field, background too sharp, background clutter, distracting reflections, harsh shadows, inconsistent "
    "lighting direction, color banding, cartoonish rendering, 3D CGI look, unrealistic materials, uncanny "
    "valley effect, incorrect ethnicity, wrong gender, exaggerated expressions, wrong gaze direction, "
    "mismatched lip sync, silent or muted audio, distorted voice, robotic voice, echo, background noise, "
    "off-sync audio, incorrect dialogue, added dialogue, repetitive speech, jittery movement, awkward "
    "pauses, incorrect timing, unnatural transitions, inconsistent framing, tilted camera, flat lighting, "
    "inconsistent tone, cinematic oversaturation, stylized filters, or AI artifacts."
)

FamilyName = Literal["ltx-2.5", "ltx-2.3", "ltx-2"]
# diffusers' LTX-2 docs load this processor for the Gemma 3 families' self-enhancement.
GEMMA_3_PROCESSOR = "google/gemma-3-12b-it-qat-q4_0-unquantized"


@dataclass(frozen=True)
class Guidance:
    """The multimodal guider of one stage, per modality, as ltx-core's `MultiModalGuiderParams` names it.

    cfg 1.0, stg 0.0 and modality 1.0 each switch their extra transformer pass off.
    """

    cfg: float = 1.0
    audio_cfg: float = 1.0
    stg: float = 0.0
    audio_stg: float = 0.0
    modality: float = 1.0
    audio_modality: float = 1.0
    rescale: float = 0.0
    audio_rescale: float = 0.0
    stg_blocks: tuple[int, ...] = ()

    @property
    def passes(self) -> int:
        """Transformer forward passes per step: the conditional one, plus one for each guidance term that is on."""
        return 1 + (self.cfg > 1 or self.audio_cfg > 1) + (self.stg > 0 or self.audio_stg > 0) + (
            self.modality > 1 or self.audio_modality > 1)


UNGUIDED = Guidance()


@dataclass(frozen=True)
class CfgRange:
    """How a request's `cfg_scale` (0..1) maps onto stage 1's video CFG: piecewise linear through
    (0, low), (0.5, default), (1, high), so monotonic and inside the range the reference sanctions."""

    low: float
    default: float
    high: float


@dataclass(frozen=True)
class Refine:
    """One stage after the first: a 2x latent upsample, then the distilled LoRA re-noises to `sigmas[0]` and
    denoises unguided, over the whole frame or, where one frame would not fit, tile by spatial tile."""

    sigmas: tuple[float, ...]
    tiles: tuple[int, int] = (1, 1)  # (rows, columns) of latent tiles, each denoised alone and blended
    overlap: int = 0  # latent cells neighbouring tiles share, blended with linear ramps


STAGE_2 = Refine(STAGE_2_SIGMAS)
# ltx-pipelines `hdr_ic_lora.py` _TILED_2F2H2W_OV8_6, its one stage-2 phase for up to 3840x2160: 2 x 2 spatial
# tiles sharing 6 latent cells (192 px). Its 2 temporal tiles are left out: every tile here spans the whole
# clip, so each is the token count of the pro tier's 1080p stage 2, and no tile restarts the causal first frame.
FOUR_K = Refine(FOUR_K_SIGMAS, tiles=(2, 2), overlap=6)


@dataclass(frozen=True)
class TierRecipe:
    """How one family renders one tier: stage 1 (the full model or the distilled LoRA), then for each refine a
    2x latent upsample and a short refinement with the distilled LoRA."""

    distilled: bool  # stage 1 with the distilled LoRA on its 8 sigmas; else the full model
    steps: int  # stage-1 steps (the distilled schedule's length when distilled)
    guidance: Guidance  # stage 1 at the request's default cfg_scale
    cfg: CfgRange  # cfg_scale -> stage-1 video CFG
    audio_from_stage: Literal[1, 2]  # whose audio latents are decoded (the two-stage reference keeps stage 1's)
    refines: tuple[Refine, ...] = (STAGE_2,)

    @property
    def guided_by_default(self) -> bool:
        return self.guidance.cfg > 1 or self.guidance.audio_cfg > 1


@dataclass(frozen=True)
class Family:
    """One LTX model family: where its checkpoint lives, how it is laid out, and its recipes."""

    name: FamilyName
    checkpoint: str  # the diffusers-format hub repository
    configs: str  # folder under configs/ with its full-size component configs (random-full)
    lora_repo: str  # where the distilled LoRA file lives (often the checkpoint itself)
    lora_weight_name: str
    upsampler_repo: str  # where the 2x latent upsampler lives, in `upsampler_subfolder`
    upsampler_subfolder: str
    text_encoder: str  # its class, as model_index.json names it
    transformer_subfolder: str | None  # where the full model is, when model_index.json points at another
    enhancer_repo: str  # where the prompt enhancer (or, for Gemma 3 families, its processor) comes from if the
    # checkpoint does not ship it
    use_cross_timestep: bool  # diffusers: True is the LTX-2.3/2.5 transformer, False legacy LTX-2.0
    enhancer: Literal["dedicated", "text_encoder"]  # what writes enhanced prompts
    enhance_by_default: bool
    pro: TierRecipe
    standard: TierRecipe
    parameters_billions: float  # the transformer, for docs and the memory plan's estimates

    @property
    def four_k(self) -> TierRecipe:
        return four_k_recipe(self.pro)

    def recipe(self, tier: str) -> TierRecipe:
        return {"pro": self.pro, "4k": self.four_k}.get(tier, self.standard)


def _two_stage_pro(steps: int, stg_block: int) -> TierRecipe:
    """ti2vid_two_stages.py with LTX_2_PARAMS / LTX_2_3_PARAMS: the full model guided by CFG 3 (video) / 7
    (audio), STG 1.0 on one block, modality guidance 3, rescale 0.7; stage-2 audio is discarded."""
    guidance = Guidance(cfg=3.0, audio_cfg=7.0, stg=1.0, audio_stg=1.0, modality=3.0, audio_modality=3.0,
                        rescale=0.7, audio_rescale=0.7, stg_blocks=(stg_block,))
    # docs/multimodal-guidance.md: "cfg_scale ... Typical values: 2.0-5.0".
    return TierRecipe(distilled=False, steps=steps, guidance=guidance, cfg=CfgRange(2.0, 3.0, 5.0),
                      audio_from_stage=1)


def four_k_recipe(pro: TierRecipe) -> TierRecipe:
    """The 4K tier: the family's pro recipe to its 1080p-class stage 2, then one more 2x upsample and the 4K
    refinement of hdr_ic_lora.py (the reference's only pipeline that renders 3840x2160), tiled."""
    return replace(pro, refines=(STAGE_2, FOUR_K))


# distilled.py: both stages unguided (SimpleDenoiser), the distilled sigmas, stage 2's audio decoded. Above
# the default cfg_scale, or with a negative prompt, a guidance pass runs at CFG 1 + 2 * cfg_scale (2 at the
# default, up to 3, the full model's reference value); see docs/models.md.
DISTILLED_STANDARD = TierRecipe(distilled=True, steps=len(DISTILLED_SIGMAS), guidance=UNGUIDED,
                                cfg=CfgRange(1.0, 2.0, 3.0), audio_from_stage=2)

LTX_2 = Family(
    name="ltx-2",
    checkpoint="Lightricks/LTX-2",
    configs="ltx2-19b",
    lora_repo="Lightricks/LTX-2",
    lora_weight_name="ltx-2-19b-distilled-lora-384.safetensors",
    upsampler_repo="Lightricks/LTX-2",
    upsampler_subfolder="latent_upsampler",
    text_encoder="Gemma3ForConditionalGeneration",
    transformer_subfolder=None,
    enhancer_repo=GEMMA_3_PROCESSOR,
    use_cross_timestep=False,
    enhancer="text_encoder",
    enhance_by_default=False,  # ltx-pipelines: --enhance-prompt is opt-in; Gemma 3 enhances its own prompts
    pro=_two_stage_pro(steps=40, stg_block=29),  # LTX_2_PARAMS
    standard=DISTILLED_STANDARD,
    parameters_billions=18.9,
)

LTX_2_3 = Family(
    name="ltx-2.3",
    checkpoint="diffusers/LTX-2.3-Diffusers",
    configs="ltx2.3-22b",
    lora_repo="Lightricks/LTX-2.3",
    lora_weight_name="ltx-2.3-22b-distilled-lora-384-1.1.safetensors",
    # The diffusers repo has no latent upsampler; this conversion, by a diffusers maintainer, is the one on
    # the hub that is laid out as an LTX2LatentUpsamplePipeline (docs/models.md says how to use another).
    upsampler_repo="dg845/LTX-2.3-Spatial-Upsampler-Diffusers",
    upsampler_subfolder="latent_upsampler",
    text_encoder="Gemma3ForConditionalGeneration",
    transformer_subfolder=None,
    enhancer_repo=GEMMA_3_PROCESSOR,
    use_cross_timestep=True,
    enhancer="text_encoder",
    enhance_by_default=False,
    pro=_two_stage_pro(steps=30, stg_block=28),  # LTX_2_3_PARAMS
    standard=DISTILLED_STANDARD,
    parameters_billions=22.0,
)

LTX_2_5 = Family(
    name="ltx-2.5",
    checkpoint="Lightricks/LTX-2.5-Diffusers",
    configs="ltx2.5-22b",
    lora_repo="Lightricks/LTX-2.5-Diffusers",
    lora_weight_name="ltx-2.5-22b-distilled-lora-450-bf16.safetensors",
    upsampler_repo="Lightricks/LTX-2.5-Diffusers",
    upsampler_subfolder="latent_upsampler",
    text_encoder="Gemma4UnifiedForConditionalGeneration",
    # model_index.json points at the distilled transformer; the full one, with the LoRA, serves both tiers.
    transformer_subfolder="transformer_full",
    enhancer_repo="google/gemma-4-E2B-it",
    use_cross_timestep=True,
    enhancer="dedicated",  # google/gemma-4-E2B-it: the 2.5 text encoder is not trained to enhance
    enhance_by_default=True,  # Lightricks recommends enhancement for 2.5
    pro=_two_stage_pro(steps=30, stg_block=28),  # LTX_2_4_PARAMS: the 2.3 knobs, only the image CRF moves
    standard=DISTILLED_STANDARD,
    parameters_billions=22.0,
)

FAMILIES: dict[str, Family] = {f.name: f for f in (LTX_2_5, LTX_2_3, LTX_2)}
DEFAULT_FAMILY = LTX_2_5.name


def family_named(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; choose one of {', '.join(FAMILIES)}") from None
