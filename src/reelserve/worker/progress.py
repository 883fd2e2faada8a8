"""How often a running job's progress reaches the store: at most once an interval, never backwards."""

from __future__ import annotations

import time
from collections.abc import Callable

PROGRESS_INTERVAL_SECONDS = 1.0


class ProgressReporter:
    """Writes progress at most about once a second and never lets it go backwards."""

    def __init__(self, write: Callable[[float], None], interval: float = PROGRESS_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._write = write
        self._interval = interval
        self._clock = clock
        self._last_written = float("-inf")  # monotonic() starts near 0 at boot
        self._last_value = -1.0

    def __call__(self, percent: float) -> None:
        now = self._clock()
        if percent <= self._last_value or now - self._last_written < self._interval:
            return
        self._last_value, self._last_written = percent, now
        self._write(percent)
