"""Wall time per stage of a generation, reported in `metadata.timings` and printed by bench/engine.py."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class StageClock:
    """Adds up seconds per named section. On CUDA it synchronizes at each edge, because kernels run
    asynchronously and a section would otherwise end before its work does."""

    def __init__(self, device: str) -> None:
        self._sync: Callable[[], None] = _cuda_sync if device.startswith("cuda") else (lambda: None)
        self.seconds: dict[str, float] = defaultdict(float)

    def reset(self) -> None:
        self.seconds.clear()

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        self._sync()
        started = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[name] += time.perf_counter() - started

    def wrap(self, owner: Any, method: str, name: str) -> None:
        """Time every call of `owner.method` (an instance attribute shadows the class's method)."""
        inner = getattr(owner, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.section(name):
                return inner(*args, **kwargs)

        setattr(owner, method, timed)


def _cuda_sync() -> None:
    import torch

    torch.cuda.synchronize()
