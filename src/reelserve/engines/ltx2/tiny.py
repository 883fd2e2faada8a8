"""`--weights tiny`: a family's real architecture at toy widths and random weights, for machines with no GPU.

Every component is built from the family's own full-size config (configs/<family>/) with only its widths
and depths shrunk (`TINY`), so the classes and the switches that set each family apart (gated attention,
per-modality text projections, the 48 kHz bandwidth-extending vocoder, Gemma 3 or Gemma 4) are the real
ones. The components are written with `save_pretrained` / `save_lora_weights` in the checkpoint's layout,
with a LoRA in the distilled LoRA's place and a processor for prompt enhancement, and loaded back through
the same `from_pretrained` / `load_lora_weights` calls as a real checkpoint. The video is noise; frame
counts, sizes, audio length and timings are real.

Compression follows the real checkpoints (VAE patch 4, 32x spatial, 8x temporal; 16 kHz mel at hop 160),
so a 5-second clip is only ~640 video tokens and runs in about a second on a CPU.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from reelserve.engines.ltx2.components import MODEL_COMPONENTS, build_component, load_config
from reelserve.engines.ltx2.families import Family
from reelserve.engines.ltx2.layout import LORA_TARGETS, UPSAMPLER_SUBFOLDER
from reelserve.engines.ltx2.plan import Scale
from reelserve.engines.ltx2.pretrained import from_folder
from reelserve.engines.ltx2.tokenizer import build_processor, build_tokenizer
from reelserve.engines.ltx2.weights import WeightsSource

# Bump when the architecture below changes, so stale caches are rebuilt rather than reused.
TINY_VERSION = "3"
TEXT_HIDDEN = 32
TEXT_LAYERS = 2
VIDEO_WIDTH, AUDIO_WIDTH = 16, 8  # the transformer's video and audio streams (heads x head dim)

# Toy sizes keep the tier visible (pro is 1/6 of 1080p class, standard 1/5 of 720p class, 4k 1/12 of 2160p
# class, so that its last stage still has 2 x 2 tiles) and a tenth of the full model's steps keep a request
# near a second on a CPU. The distilled recipe keeps its 8. The enhancer writes 16 tokens, not 600: a toy
# model's words are noise anyway.
TINY_SCALE = Scale(size_divisors={"pro": 6, "standard": 5, "4k": 12}, step_divisor=10, min_steps=2,
                   max_sequence_length=256, enhancer_max_new_tokens=16)

_GEMMA_TEXT = {"hidden_size": TEXT_HIDDEN, "intermediate_size": 64, "num_hidden_layers": TEXT_LAYERS,
               "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16, "max_position_embeddings": 1024,
               "sliding_window": 64, "layer_types": None}
_GEMMA4_TEXT = {"global_head_dim": 16, "num_global_key_value_heads": 1, "num_kv_shared_layers": 0,
                "vocab_size_per_layer_input": 128, "hidden_size_per_layer_input": 8}

# Per component: the keys that set its size, at toy values. Everything else comes from the family's config.
TINY: dict[str, dict[str, Any]] = {
    "transformer": {
        "in_channels": 8, "out_channels": 8, "num_attention_heads": 2, "attention_head_dim": VIDEO_WIDTH // 2,
        "cross_attention_dim": VIDEO_WIDTH, "audio_in_channels": 16, "audio_out_channels": 16,  # 4 channels x 4 mel bins
        "audio_num_attention_heads": 2, "audio_attention_head_dim": AUDIO_WIDTH // 2,
        "audio_cross_attention_dim": AUDIO_WIDTH, "num_layers": 2, "caption_channels": TEXT_HIDDEN,
        "rope_double_precision": False,
    },
    "connectors": {
        "caption_channels": TEXT_HIDDEN, "text_proj_in_factor": TEXT_LAYERS + 1, "video_connector_num_layers": 1,
        "audio_connector_num_layers": 1, "connector_rope_base_seq_len": 32, "rope_double_precision": False,
        "video_connector_num_learnable_registers": None, "audio_connector_num_learnable_registers": None,
        "video_hidden_dim": VIDEO_WIDTH, "audio_hidden_dim": AUDIO_WIDTH,
    },
    "vae": {"in_channels": 3, "out_channels": 3, "latent_channels": 8},  # and every width / 32 (tiny_config)
    # base_channels must equal latent_channels x (mel_bins / 4): it sizes the latent statistics.
    "audio_vae": {"base_channels": 16, "ch_mult": (1, 2, 4), "num_res_blocks": 1, "resolution": 32,
                  "latent_channels": 4, "mel_bins": 16},
    # 100 mel frames/s to 24 kHz (x240) or, with bandwidth extension, to 16 kHz (x160) and on to 48 kHz.
    # Channels halve at each upsample, so 64 outlast the bandwidth-extended vocoder's six.
    "vocoder": {"in_channels": 2 * 16, "hidden_channels": 64, "resnet_kernel_sizes": [3], "resnet_dilations": [[1, 3]]},
    "vocoder_bwe": {"bwe_in_channels": 2 * 16, "bwe_hidden_channels": 32, "bwe_resnet_kernel_sizes": [3],
                    "bwe_resnet_dilations": [[1, 3]], "num_mel_channels": 16},
    "latent_upsampler": {"in_channels": 8, "mid_channels": 32, "num_blocks_per_stage": 1},  # GroupNorm(32)
}


class TinySource(WeightsSource):
    """Built once into the cache dir, then loaded like any checkpoint: through `from_pretrained`."""

    random_weights = True
    scale = TINY_SCALE

    def __init__(self, cache_dir: Path, family: Family) -> None:
        self.cache_dir = Path(cache_dir)
        self.family = family
        self.name = "tiny"

    def load(self, dtype: Any, device: str) -> tuple[Any, Any]:
        pipe, upsampler = from_folder(str(ensure_tiny_weights(self.cache_dir, self.family)), self.family, dtype)
        if self.family.enhancer == "dedicated":
            # The stand-in processor is Gemma 3's (tokenizer.py), whose token type ids Gemma 4 does not take.
            pipe.processor.return_mm_token_type_ids = False
        return pipe, upsampler


def tiny_weights_dir(cache_dir: Path, family: Family) -> Path:
    return Path(cache_dir) / f"tiny-{family.name}-v{TINY_VERSION}"


def ensure_tiny_weights(cache_dir: Path, family: Family) -> Path:
    """Build the family's tiny checkpoint once; later calls reuse it. Safe when several processes race."""
    target = tiny_weights_dir(cache_dir, family)
    if (target / "model_index.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".tiny-{family.name}-", dir=target.parent))
    try:
        pipe = _build_pipeline(family)
        pipe.save_pretrained(staging)
        build_component(tiny_config(family, "latent_upsampler")).save_pretrained(staging / UPSAMPLER_SUBFOLDER)
        _save_lora(pipe, staging, family.lora_weight_name)
        try:
            os.rename(staging, target)  # atomic: readers never see a half-written checkpoint
        except OSError:
            if not (target / "model_index.json").exists():
                raise  # not a lost race: a real failure
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def tiny_config(family: Family, component: str, vocab_size: int = 128) -> dict[str, Any]:
    """The family's full-size config for `component` with its sizes replaced by toy ones."""
    config = load_config(family.configs, component)
    if config is None:
        raise ValueError(f"{family.name} has no {component} config")
    if "architectures" in config:
        return _tiny_gemma(config, vocab_size)
    config = {**config, **TINY.get(component, {})}
    if component == "vae":
        # The family's own block layout (how many, which up- and downsamples), each 32x narrower, one layer deep.
        for key in ("block_out_channels", "decoder_block_out_channels"):
            config[key] = [width // 32 for width in config[key]]
        for key in ("layers_per_block", "decoder_layers_per_block"):
            config[key] = [1] * len(config[key])
    if component == "vocoder" and "bwe_in_channels" in config:
        config |= TINY["vocoder_bwe"]
    if component == "connectors" and not config.get("per_modality_projections"):
        # One projection for both streams: each connector's width must be the text encoder's.
        config |= {"video_connector_num_attention_heads": 2, "video_connector_attention_head_dim": TEXT_HIDDEN // 2,
                   "audio_connector_num_attention_heads": 2, "audio_connector_attention_head_dim": TEXT_HIDDEN // 2}
    elif component == "connectors":
        config |= {"video_connector_num_attention_heads": 2, "video_connector_attention_head_dim": VIDEO_WIDTH // 2,
                   "audio_connector_num_attention_heads": 2, "audio_connector_attention_head_dim": AUDIO_WIDTH // 2}
    return config


def _tiny_gemma(config: dict[str, Any], vocab_size: int) -> dict[str, Any]:
    """A Gemma 3 or Gemma 4 of the same family of classes, two layers of width 32, a toy vision tower."""
    gemma4 = config["model_type"].startswith("gemma4")
    text = {**config["text_config"], **_GEMMA_TEXT, "vocab_size": vocab_size, **(_GEMMA4_TEXT if gemma4 else {})}
    text.pop("rope_scaling", None)
    vision = {**config["vision_config"], "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
              "num_attention_heads": 2, "num_key_value_heads": 2, "head_dim": 8}
    if gemma4:
        vision |= {"mm_embed_dim": TEXT_HIDDEN, "output_proj_dims": TEXT_HIDDEN, "mm_posemb_size": 16,
                   "position_embedding_size": 64}
    else:
        vision |= {"image_size": 28, "patch_size": 14}
    tiny = {**config, "text_config": text, "vision_config": vision}
    if gemma4:
        tiny["audio_config"] = None
    else:
        tiny["mm_tokens_per_image"] = 4
    return tiny


def _build_pipeline(family: Family) -> Any:
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, LTX2Pipeline

    torch.manual_seed(0)  # the same tiny checkpoint on every machine
    tokenizer = build_tokenizer()
    modules = {name: build_component(tiny_config(family, name, len(tokenizer))) for name in MODEL_COMPONENTS}
    extras = {}
    if load_config(family.configs, "prompt_enhancer") is not None:
        extras["prompt_enhancer"] = build_component(tiny_config(family, "prompt_enhancer", len(tokenizer)))
    scheduler = FlowMatchEulerDiscreteScheduler.from_config(load_config(family.configs, "scheduler"))
    return LTX2Pipeline(scheduler=scheduler, tokenizer=tokenizer, processor=build_processor(tokenizer),
                        **modules, **extras)


def _save_lora(pipe: Any, folder: Path, weight_name: str) -> None:
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
    LTX2Pipeline.save_lora_weights(folder, transformer_lora_layers=layers, weight_name=weight_name)
    transformer.delete_adapters("default")
