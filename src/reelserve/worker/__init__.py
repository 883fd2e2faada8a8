"""Workers: claim -> run -> finish; leases, housekeeping and shutdown."""

from __future__ import annotations

from reelserve.worker.janitor import Janitor
from reelserve.worker.runner import ProgressReporter, Worker, new_worker_id, spec_for

__all__ = ["Janitor", "ProgressReporter", "Worker", "new_worker_id", "spec_for"]
