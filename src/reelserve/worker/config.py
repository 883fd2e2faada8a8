"""A worker's plain settings, built once by the composition root (cli/compose.py: build_worker).

The timings the worker derives from them are named here, beside what they follow from, rather than
computed where they are used.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

from reelserve.worker.progress import PROGRESS_INTERVAL_SECONDS

HEARTBEAT_MOST_SECONDS = 5.0  # a long lease is still renewed this often: the worker row says it is alive
BEATS_PER_LEASE = 3  # a short lease outlasts two missed beats
STORE_RETRY_SECONDS = 1.0  # between attempts while the queue database or the media storage is unreachable
PAUSE_AFTER_FAULT_SECONDS = 5.0  # no claims after a publish met a full disk: the next job would meet it too


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class WorkerConfig:
    lease_seconds: float  # how long a claim holds a job without a renewal
    poll_seconds: float  # the idle wait between claims when no push from the store wakes the worker
    scratch_dir: Path  # where each clip is encoded before its upload
    worker_id: str = field(default_factory=new_worker_id)
    progress_interval: float = PROGRESS_INTERVAL_SECONDS  # at most one progress write per interval
    store_retry_seconds: float = STORE_RETRY_SECONDS
    pause_after_fault_seconds: float = PAUSE_AFTER_FAULT_SECONDS

    @property
    def heartbeat_seconds(self) -> float:
        """Between beats (the worker row and every lease in hand): several per lease, and at most 5 s."""
        return min(HEARTBEAT_MOST_SECONDS, self.lease_seconds / BEATS_PER_LEASE)

    @property
    def reap_seconds(self) -> float:
        """Between the janitor's looks for expired leases: twice a lease, at most 5 s, so a dead worker's job
        is back in the queue within about a lease and a half."""
        return min(HEARTBEAT_MOST_SECONDS, self.lease_seconds / 2)

    @property
    def retry_window_seconds(self) -> float:
        """How long an upload or an outcome write is retried while the store or storage is unreachable:
        one lease. After that the lease has lapsed anyway, and the reaper gives the job another attempt."""
        return self.lease_seconds
