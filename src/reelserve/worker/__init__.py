"""Workers: claim -> generate -> publish -> complete; leases, explicit states, housekeeping and shutdown."""

from __future__ import annotations

from reelserve.worker.config import WorkerConfig, new_worker_id
from reelserve.worker.janitor import Janitor
from reelserve.worker.lease import Lease, LeaseStatus
from reelserve.worker.progress import ProgressReporter
from reelserve.worker.runner import Worker
from reelserve.worker.state import WorkerState

__all__ = ["Janitor", "Lease", "LeaseStatus", "ProgressReporter", "Worker", "WorkerConfig", "WorkerState",
           "new_worker_id"]
