"""What every LTX-2 weights source gives the engine: the components, and the scale to render them at."""

from __future__ import annotations

import abc
from typing import Any

from reelserve.engines.ltx2.plan import FULL_SCALE, Scale


class WeightsSource(abc.ABC):
    """One place LTX-2 can come from: a pretrained checkpoint (hub or folder), the tiny test build, random-full."""

    name: str  # how /v1/health and metadata.engine report it
    random_weights: bool = False  # the video is noise: shapes, durations, audio and timings are still real
    scale: Scale = FULL_SCALE

    @abc.abstractmethod
    def load(self, dtype: Any, device: str) -> tuple[Any, Any]:
        """(LTX2Pipeline with the distilled LoRA loaded as the `distilled` adapter, 2x latent upsampler).

        On the CPU, for the engine to move with its runtime options, unless the source allocates on
        `device` itself (random-full, where building on the CPU first would take minutes).
        """
