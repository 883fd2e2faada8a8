"""Riding out an unreachable queue database or media storage inside one job (an upload, an outcome write)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from reelserve.errors import UnavailableError
from reelserve.worker.config import WorkerConfig

log = logging.getLogger(__name__)


def retrying(config: WorkerConfig, action: Callable[[], None], what: str) -> None:
    """Run `action`, retrying while the database or storage is unavailable, for up to
    `config.retry_window_seconds`; past that the UnavailableError propagates."""
    deadline = time.monotonic() + config.retry_window_seconds
    while True:
        try:
            return action()
        except UnavailableError as exc:
            if time.monotonic() + config.store_retry_seconds > deadline:
                raise
            log.warning("%s Retrying %s in %.0f s.", exc.message, what, config.store_retry_seconds)
        time.sleep(config.store_retry_seconds)
