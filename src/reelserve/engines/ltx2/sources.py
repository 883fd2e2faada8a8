"""`--weights` to a weights source: `auto`, `tiny`, `random-full`, a hub id, or a local directory."""

from __future__ import annotations

from pathlib import Path

from reelserve.engines.ltx2.families import Family
from reelserve.engines.ltx2.pretrained import PretrainedSource
from reelserve.engines.ltx2.random_full import RandomFullSource
from reelserve.engines.ltx2.tiny import TinySource
from reelserve.engines.ltx2.weights import WeightsSource

AUTO = "auto"
TINY = "tiny"
RANDOM_FULL = "random-full"


def weights_source(weights: str, family: Family, *, device: str, cache_dir: Path) -> WeightsSource:
    """`auto` is the family's checkpoint on CUDA and its tiny test weights elsewhere (a CPU cannot run 22B)."""
    if weights == AUTO:
        weights = family.checkpoint if device.startswith("cuda") else TINY
    if weights == TINY:
        return TinySource(cache_dir, family)
    if weights == RANDOM_FULL:
        return RandomFullSource(family)
    return PretrainedSource(weights, family)
