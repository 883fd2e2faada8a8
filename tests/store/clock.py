"""The store's clock in tests: moved on by the test instead of waited for."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from reelserve.store import utcnow


class MovableClock:
    """The real time plus however far the test has moved it on: jobs made one after another still get
    increasing times, while a lease, a TTL or a rate window runs out the moment the test says so."""

    def __init__(self) -> None:
        self._ahead = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return utcnow() + self._ahead

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._ahead += timedelta(seconds=seconds)
