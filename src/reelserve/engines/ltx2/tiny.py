"""`--weights tiny`: LTX-2's real architecture at toy widths and random weights, for machines with no GPU.

Every component is the class the real checkpoint uses (Gemma 3 text encoder, LTX-2 transformer,
video and audio VAEs, vocoder, 2x latent upsampler) plus a LoRA in the distilled LoRA's place, built
in code with a fixed seed, written with `save_pretrained` / `save_lora_weights` in the layout of
`Lightricks/LTX-2`, and loaded back through the same `from_pretrained` / `load_lora_weights` calls
as the real checkpoint. The video is noise; frame counts, sizes, audio length and timings are real.

Compression follows the real checkpoint (VAE patch 4, 32x spatial, 8x temporal; 16 kHz mel at hop
160, 24 kHz vocoder), so a 5-second clip is only ~640 video tokens and runs in about a second on CPU.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from reelserve.engines.ltx2.layout import LORA_TARGETS, LORA_WEIGHT_NAME, UPSAMPLER_SUBFOLDER
from reelserve.engines.ltx2.plan import Scale
from reelserve.engines.ltx2.pretrained import from_pretrained
from reelserve.engines.ltx2.tokenizer import build_tokenizer
from reelserve.engines.ltx2.weights import WeightsSource

# Bump when the architecture below changes, so stale caches are rebuilt rather than reused.
TINY_VERSION = "2"
TEXT_HIDDEN = 32
TEXT_LAYERS = 2

# Toy sizes keep the tier visible (pro is 1/6 of 1080p class, standard 1/5 of 720p class) and a tenth
# of the full model's steps keep a request near a second on a CPU. The distilled recipe keeps its 8.
TINY_SCALE = Scale(size_divisors={"pro": 6, "standard": 5}, step_divisor=10, min_steps=2, max_sequence_length=256)


class TinySource(WeightsSource):
    """Built once into the cache dir, then loaded like any checkpoint: through `from_pretrained`."""

    name = "tiny"
    random_weights = True
    scale = TINY_SCALE

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)

    def load(self, dtype: Any, device: str) -> tuple[Any, Any]:
        return from_pretrained(str(ensure_tiny_weights(self.cache_dir)), dtype)


def tiny_weights_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / f"tiny-ltx2-v{TINY_VERSION}"


def ensure_tiny_weights(cache_dir: Path) -> Path:
    """Build the tiny checkpoint once; later calls reuse it. Safe when several processes race."""
    target = tiny_weights_dir(cache_dir)
    if (target / "model_index.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tiny-ltx2-", dir=target.parent))
    try:
        pipe = _build_pipeline()
        pipe.save_pretrained(staging)
        _build_latent_upsampler().save_pretrained(staging / UPSAMPLER_SUBFOLDER)
        _save_lora(pipe, staging)
        try:
            os.rename(staging, target)  # atomic: readers never see a half-written checkpoint
        except OSError:
            if not (target / "model_index.json").exists():
                raise  # not a lost race: a real failure
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _build_text_encoder(vocab_size: int):
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    config = Gemma3Config(
        text_config={
            "vocab_size": vocab_size, "hidden_size": TEXT_HIDDEN, "intermediate_size": 64,
            "num_hidden_layers": TEXT_LAYERS, "num_attention_heads": 2, "num_key_value_heads": 1,
            "head_dim": 16, "max_position_embeddings": 1024, "sliding_window": 64,
        },
        vision_config={
            "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
            "image_size": 28, "patch_size": 14,
        },
        mm_tokens_per_image=4,
    )
    return Gemma3ForConditionalGeneration(config)


def _build_transformer():
    from diffusers import LTX2VideoTransformer3DModel

    return LTX2VideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1,
        num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16,
        audio_in_channels=16, audio_out_channels=16,  # audio latent channels (4) x latent mel bins (4)
        audio_num_attention_heads=2, audio_attention_head_dim=4, audio_cross_attention_dim=8,
        num_layers=2, qk_norm="rms_norm_across_heads", caption_channels=TEXT_HIDDEN,
        rope_double_precision=False, rope_type="split",
    )


def _build_connectors():
    from diffusers.pipelines.ltx2 import LTX2TextConnectors

    # Each connector's width (heads x head_dim) must equal the text encoder's hidden size.
    return LTX2TextConnectors(
        caption_channels=TEXT_HIDDEN, text_proj_in_factor=TEXT_LAYERS + 1,
        video_connector_num_attention_heads=2, video_connector_attention_head_dim=16,
        video_connector_num_layers=1, video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=2, audio_connector_attention_head_dim=16,
        audio_connector_num_layers=1, audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32, rope_theta=10000.0, rope_double_precision=False,
        causal_temporal_positioning=False, rope_type="split",
    )


def _build_video_vae():
    from diffusers import AutoencoderKLLTX2Video

    # The real VAE's layout (patch 4; spatial, temporal, then two spatiotemporal downsamples) at
    # toy widths; the decoder halves channels per upsample, so its widths double like the real one.
    return AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=8,
        block_out_channels=(8, 16, 32, 32), decoder_block_out_channels=(8, 16, 32),
        layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, True, True), decoder_spatio_temporal_scaling=(True, True, True),
        decoder_inject_noise=(False, False, False, False),
        downsample_type=("spatial", "temporal", "spatiotemporal", "spatiotemporal"),
        upsample_residual=(True, True, True), upsample_factor=(2, 2, 2), timestep_conditioning=False,
        patch_size=4, patch_size_t=1, encoder_causal=True, decoder_causal=False,
        spatial_compression_ratio=32, temporal_compression_ratio=8,
    )


def _build_audio_vae():
    from diffusers import AutoencoderKLLTX2Audio

    # base_channels must equal latent_channels x (mel_bins / 4): it sizes the latent statistics.
    return AutoencoderKLLTX2Audio(
        base_channels=16, output_channels=2, ch_mult=(1, 2, 4), num_res_blocks=1, attn_resolutions=None,
        in_channels=2, resolution=32, latent_channels=4, norm_type="pixel", causality_axis="height",
        dropout=0.0, mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160,
        is_causal=True, mel_bins=16,
    )


def _build_vocoder():
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    # Upsampling by 240 turns 100 mel frames/s into 24 kHz audio, as in the real checkpoint.
    return LTX2Vocoder(
        in_channels=2 * 16, hidden_channels=32, out_channels=2,
        upsample_kernel_sizes=[12, 10, 4, 4, 4], upsample_factors=[6, 5, 2, 2, 2],
        resnet_kernel_sizes=[3], resnet_dilations=[[1, 3]], output_sampling_rate=24000,
    )


def _build_pipeline():
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, LTX2Pipeline

    torch.manual_seed(0)  # the same tiny checkpoint on every machine
    tokenizer = build_tokenizer()
    return LTX2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_build_video_vae(),
        audio_vae=_build_audio_vae(),
        text_encoder=_build_text_encoder(len(tokenizer)),
        tokenizer=tokenizer,
        connectors=_build_connectors(),
        transformer=_build_transformer(),
        vocoder=_build_vocoder(),
    )


def _build_latent_upsampler():
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

    return LTX2LatentUpsamplerModel(in_channels=8, mid_channels=32, num_blocks_per_stage=1)  # GroupNorm(32)


def _save_lora(pipe: Any, folder: Path) -> None:
    """A rank-4 LoRA with random (not zero) up-projections, so switching it on changes the output."""
    import torch
    from diffusers import LTX2Pipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    transformer = pipe.transformer
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=LORA_TARGETS, init_lora_weights=True))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in transformer.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.1)
    layers = get_peft_model_state_dict(transformer)
    LTX2Pipeline.save_lora_weights(folder, transformer_lora_layers=layers, weight_name=LORA_WEIGHT_NAME)
    transformer.delete_adapters("default")
