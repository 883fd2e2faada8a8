"""GPU settings for any diffusers pipeline: dtype, attention backend, compile, VAE tiling, offload, fp8; and
`EngineConfig`, the weights, family and device they apply to.

Each setting is applied once at load time and reported back by name (in `EngineInfo.settings`, so
/v1/health and every result's `metadata.engine` say what ran). The tests check on CPU that each one is
really applied to the modules; speed and memory are measured by `bench/engine.py` on a GPU.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from reelserve.errors import ConfigurationError

log = logging.getLogger(__name__)

DTYPES = ("auto", "bfloat16", "float16", "float32")


@dataclass(frozen=True)
class RuntimeOptions:
    """How to run the model on its device. `None` means: pick the right thing for the device."""

    dtype: str = "auto"  # auto: bfloat16 on CUDA, float32 on CPU (CPU bf16 matmuls are slow)
    attention_backend: str | None = None  # a diffusers backend name: native, flash, _native_cudnn, sage...
    compile: bool = False  # torch.compile each repeated transformer block (one graph, reused 48 times)
    vae_tiling: bool | None = None  # decode in tiles; auto: on for CUDA, where a 1080p decode would not fit
    offload_text_encoder: bool = False  # keep the text encoder on the CPU except while it encodes
    fp8: bool = False  # store transformer weights in fp8, upcast per layer to compute: for small GPUs
    group_offload: bool = False  # keep the transformer on the CPU, streaming its blocks to the GPU as they run

    def torch_dtype(self, device: str) -> Any:
        import torch

        if self.dtype not in DTYPES:
            raise ConfigurationError(f"dtype must be one of {', '.join(DTYPES)}, not {self.dtype!r}")
        if self.dtype == "auto":
            return torch.bfloat16 if device.startswith("cuda") else torch.float32
        return getattr(torch, self.dtype)


@dataclass(frozen=True)
class EngineConfig:
    """Which engine a worker loads (`reelserve.engines.load_engine`), and how it runs on its device."""

    weights: str  # auto, tiny, random-full, a hub id, or a folder
    family: str  # the LTX family: ltx-2.5, ltx-2.3 or ltx-2
    device: str  # auto (CUDA if present), cpu, cuda, cuda:1...
    cache_dir: Path  # where built tiny weights are kept
    options: RuntimeOptions
    enhance_prompt: bool  # the default for requests that do not say


def apply(pipe: Any, options: RuntimeOptions, device: str, dtype: Any) -> list[str]:
    """Move `pipe` to `device` with every option applied; returns the names of what was applied."""
    import torch

    applied: list[str] = []
    if options.fp8:
        # Before the move, so the transformer travels in fp8: that is the memory saving.
        pipe.transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype)
        applied.append("fp8_layerwise_casting")
    if options.group_offload and device.startswith("cuda"):
        _group_offload(pipe, device)
        applied.append("group_offload")
    else:
        pipe.to(device)
    if options.offload_text_encoder:
        for module in _offloadable(pipe):
            module.to("cpu")
        applied.append("offload_text_encoder")
    if options.attention_backend:
        _set_attention_backend(pipe.transformer, options.attention_backend)
        applied.append(f"attention_backend={options.attention_backend}")
    if options.vae_tiling if options.vae_tiling is not None else device.startswith("cuda"):
        pipe.vae.enable_tiling()
        applied.append("vae_tiling")
    if options.compile:
        pipe.transformer.compile_repeated_blocks(fullgraph=True)
        applied.append("compile_repeated_blocks")
    return applied


def _group_offload(pipe: Any, device: str) -> None:
    """Everything but the transformer onto the device; the transformer's blocks stream in one at a time, on a
    side CUDA stream so the next block's copy overlaps this block's compute."""
    for name, module in pipe.components.items():
        if name != "transformer" and hasattr(module, "to"):
            module.to(device)
    pipe.transformer.enable_group_offload(onload_device=device, offload_device="cpu", offload_type="block_level",
                                          num_blocks_per_group=1, use_stream=True)


def _set_attention_backend(transformer: Any, backend: str) -> None:
    try:
        transformer.set_attention_backend(backend)
    except (ValueError, ImportError, RuntimeError) as exc:
        raise ConfigurationError(
            f"attention_backend {backend!r} cannot be used here: {exc}. Leave it unset for PyTorch's default "
            "(scaled_dot_product_attention), or install the kernels that backend needs."
        ) from exc


@contextmanager
def text_encoder_on(pipe: Any, device: str, options: RuntimeOptions, name: str = "text_encoder") -> Iterator[None]:
    """Bring an offloaded text encoder (or prompt enhancer, `name`) to `device` for one use, then send it
    back to the CPU. diffusers' `enhance_prompt` moves its model to the device itself and leaves it there;
    the `finally` brings it back all the same."""
    module = getattr(pipe, name)
    if not options.offload_text_encoder:
        yield
        return
    module.to(device)
    try:
        yield
    finally:
        module.to("cpu")


def _offloadable(pipe: Any) -> list[Any]:
    """The modules `offload_text_encoder` keeps on the CPU: the text encoder, and a dedicated prompt enhancer."""
    return [m for m in (pipe.text_encoder, getattr(pipe, "prompt_enhancer", None)) if m is not None]


def cuda_memory(device: str) -> dict[str, int]:
    """Bytes of CUDA memory this process holds on `device` (allocated, reserved); empty off CUDA."""
    if not device.startswith("cuda"):
        return {}
    import torch

    if not torch.cuda.is_available():
        return {}
    return {"allocated": torch.cuda.memory_allocated(device), "reserved": torch.cuda.memory_reserved(device)}
