"""Workers: claim -> run -> finish."""

from __future__ import annotations

from reelserve.worker.runner import ProgressReporter, Worker, new_worker_id, spec_from_job

__all__ = ["ProgressReporter", "Worker", "new_worker_id", "spec_from_job"]
