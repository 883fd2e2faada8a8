"""Where each component lives: chosen at load from the device's free memory and the components' sizes. Pure,
except the two small readers at the bottom.

The plans, cheapest first; the first whose estimate fits is taken:
  all_resident          every component on the device
  offload_text_encoder  the text encoder (and a prompt enhancer) wait on the CPU, brought over per encode
  fp8_transformer       also store the transformer's weights in fp8, upcast per layer to compute
  group_offload         also stream the transformer's blocks from the CPU, one group at a time
An operator's explicit `offload_text_encoder` or `fp8` stays on whatever the plan; on a CPU everything is
resident (it is all host memory). Per generation, a frame past 1080p (the 4K tier) also decodes in temporal
tiles (`decode_tiling`); its tiled stage 3 keeps each tile near a 1080p stage 2 (docs/models.md, "4K tier").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from reelserve.engines.runtime import RuntimeOptions

GIB = 1024**3
# What a full-size generation needs beside the weights: stage-2 activations at 1080p, the tiled VAE decode,
# the CUDA context. An estimate from the shapes (docs/models.md), to be replaced by a measured peak.
HEADROOM_BYTES = 12 * GIB
OFFLOADABLE = ("text_encoder", "prompt_enhancer")
# The largest frame whose clip the VAE decodes in one temporal pass: the pro tier's 1920x1088 render.
WHOLE_CLIP_DECODE_PIXELS = 1920 * 1088


@dataclass(frozen=True)
class DecodeTiling:
    """How the VAE decodes a frame larger than 1080p (the 4K tier): spatial tiles as on every CUDA load
    (diffusers' 512 px, stride 448), and temporal tiles of 32 frames overlapping 16, ltx-pipelines
    hdr_ic_lora.py's DEFAULT_TEMPORAL_TILE / DEFAULT_TEMPORAL_OVERLAP for 3840x2160. A 4K decode layer holds
    128 channels per pixel: a whole 121-frame clip per spatial tile would be ~8 GiB a layer, a 32-frame one 2."""

    tile_frames: int = 32
    stride_frames: int = 16


FOUR_K_DECODE = DecodeTiling()


def decode_tiling(width: int, height: int) -> DecodeTiling | None:
    """The decode tiling a render of width x height needs beyond the load's own, or None."""
    return FOUR_K_DECODE if width * height > WHOLE_CLIP_DECODE_PIXELS else None


@dataclass(frozen=True)
class MemoryPlan:
    name: str
    options: RuntimeOptions  # the runtime options that carry the plan out
    device_bytes: int  # weights the plan keeps on the device
    free_bytes: int | None  # what the device had free at load; None off CUDA

    def describe(self) -> str:
        if self.free_bytes is None:
            return f"{self.name} (host memory)"
        return (f"{self.name}: {self.device_bytes / GIB:.1f} GiB of weights on the device, "
                f"{self.free_bytes / GIB:.1f} GiB free, {HEADROOM_BYTES / GIB:.0f} GiB kept for activations")


def plan_candidates(sizes: dict[str, int], options: RuntimeOptions) -> list[MemoryPlan]:
    """Every plan with the weights it keeps on the device, cheapest (fastest) first."""
    total = sum(sizes.values())
    offloaded = total - sum(sizes.get(name, 0) for name in OFFLOADABLE)
    transformer = sizes.get("transformer", 0)
    fp8 = offloaded - transformer // 2  # fp8 storage halves bfloat16's two bytes per weight
    streamed = offloaded - transformer  # one block group at a time; counted as none
    return [
        MemoryPlan("all_resident", options, total, None),
        MemoryPlan("offload_text_encoder", replace(options, offload_text_encoder=True), offloaded, None),
        MemoryPlan("fp8_transformer", replace(options, offload_text_encoder=True, fp8=True), fp8, None),
        MemoryPlan("group_offload", replace(options, offload_text_encoder=True, group_offload=True), streamed, None),
    ]


def choose_memory_plan(sizes: dict[str, int], free_bytes: int | None, options: RuntimeOptions) -> MemoryPlan:
    """The first plan whose weights plus the activation headroom fit in `free_bytes`; the last one otherwise.

    `sizes`: bytes per component in the dtype it will run in. `free_bytes` None (a CPU) keeps every
    component resident with the operator's options as they are.
    """
    candidates = plan_candidates(sizes, options)
    if free_bytes is None:
        return candidates[0]
    for plan in candidates:
        if plan.device_bytes + HEADROOM_BYTES <= free_bytes or plan is candidates[-1]:
            return replace(plan, free_bytes=free_bytes)
    raise AssertionError("unreachable: the last plan is always taken")


def component_bytes(pipe: Any, dtype: Any) -> dict[str, int]:
    """Bytes each model component of `pipe` takes in `dtype` (its parameters and buffers)."""
    import torch

    size = torch.tensor([], dtype=dtype).element_size()
    sizes = {}
    for name, module in pipe.components.items():
        if isinstance(module, torch.nn.Module):
            sizes[name] = sum(t.numel() for t in (*module.parameters(), *module.buffers())) * size
    return sizes


def free_device_bytes(device: str) -> int | None:
    """Free memory on a CUDA device, or None for a CPU (or a meta device, where nothing is allocated)."""
    if not device.startswith("cuda"):
        return None
    import torch

    free, _total = torch.cuda.mem_get_info(torch.device(device))
    return int(free)
