"""Where LTX-2's components come from: the hub, a local folder, the tiny test build, or random-full.

Every mode yields the same three things: the `LTX2Pipeline`, the 2x latent upsampler, and the
distilled LoRA loaded as the adapter `distilled`. A checkpoint folder holds them as diffusers lays
out `Lightricks/LTX-2`: pipeline components, `latent_upsampler/`, and the LoRA file at the top.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reelserve.errors import WeightsUnavailableError

TINY = "tiny"
RANDOM_FULL = "random-full"
LORA_ADAPTER = "distilled"
LORA_WEIGHT_NAME = "ltx-2-19b-distilled-lora-384.safetensors"
UPSAMPLER_SUBFOLDER = "latent_upsampler"


def load_components(weights: str, *, cache_dir: Path, dtype: Any, device: str) -> tuple[Any, Any]:
    """(pipeline with the `distilled` adapter loaded, latent upsampler), on the CPU unless random-full."""
    if weights == RANDOM_FULL:
        from reelserve.engines.ltx2_random import build_random_full

        return build_random_full(dtype=dtype, device=device)
    source = _tiny_source(cache_dir) if weights == TINY else weights
    try:
        return _from_pretrained(source, dtype)
    except (OSError, ValueError) as exc:
        where = "local directory" if Path(source).exists() else "Hugging Face hub id"
        raise WeightsUnavailableError(
            f"could not load LTX-2 weights from {where} {source!r}: {exc}. Pass --weights tiny for the offline "
            "test weights, or a directory holding a diffusers LTX-2 checkpoint (`reelserve pull` fetches one)."
        ) from exc


def _tiny_source(cache_dir: Path) -> str:
    from reelserve.engines.ltx2_tiny import ensure_tiny_weights

    return str(ensure_tiny_weights(cache_dir))


def _from_pretrained(source: str, dtype: Any) -> tuple[Any, Any]:
    from diffusers import LTX2Pipeline
    from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

    pipe = LTX2Pipeline.from_pretrained(source, dtype=dtype)
    upsampler = LTX2LatentUpsamplerModel.from_pretrained(source, subfolder=UPSAMPLER_SUBFOLDER, dtype=dtype)
    pipe.load_lora_weights(source, weight_name=LORA_WEIGHT_NAME, adapter_name=LORA_ADAPTER)
    return pipe, upsampler
