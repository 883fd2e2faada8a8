"""Housekeeping every worker does on its own clock: reap expired leases, purge requests past retention.

It runs in a thread of its own (saq's upkeep does the same), so a worker busy on a 15-minute request
still puts a crashed worker's request back in the queue within a lease period.

Both are conditional writes in the store, so any number of workers may run them at once: a lease
is reaped by exactly one of them, and a purged request is deleted once (its media deletion is
idempotent, and it happens before the row goes, so a crash in between only repeats it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from reelserve import metrics
from reelserve.storage import MediaStorage
from reelserve.store import JobStore, Reaped

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 60.0
PURGE_BATCHES_PER_RUN = 20  # x 500 requests: bounded, so a huge backlog never stalls the worker's next claim


class Janitor:
    def __init__(self, store: JobStore, storage: MediaStorage, *, retention_seconds: float, reap_every: float,
                 purge_every: float = PURGE_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.storage = storage
        self.retention_seconds = retention_seconds
        self._every = {"reap": reap_every, "purge": purge_every}
        self._due = {"reap": float("-inf"), "purge": float("-inf")}
        self._clock = clock

    def run(self, stop: threading.Event) -> None:
        """Run the chores as they fall due until `stop` is set (the worker's housekeeping thread)."""
        while not stop.is_set():
            self.run_due()
            stop.wait(max(0.0, min(self._due.values()) - self._clock()))

    def run_due(self) -> None:
        """Run whichever chores are due; a failing chore is logged and retried next time, never raised."""
        for chore, action in (("reap", self.reap), ("purge", self.purge)):
            now = self._clock()
            if now < self._due[chore]:
                continue
            self._due[chore] = now + self._every[chore]
            try:
                action()
            except Exception:
                log.exception("housekeeping: %s failed; retrying in %.0f s", chore, self._every[chore])

    def reap(self) -> Reaped:
        reaped = self.store.reap_expired_leases()
        for job_id in reaped.requeued:
            log.warning("job %s: its worker stopped renewing the lease; back in the queue", job_id)
        for job_id in reaped.interrupted:  # counted in reelserve_jobs_finished by the store, as it commits
            log.warning("job %s: interrupted too many times; failed with code 'interrupted'", job_id)
        metrics.LEASE_REAPS.labels("requeued").inc(len(reaped.requeued))
        metrics.LEASE_REAPS.labels("failed").inc(len(reaped.interrupted))
        return reaped

    def purge(self) -> int:
        """Delete requests finished longer ago than the retention period, media first; returns how many."""
        purged = 0
        for _ in range(PURGE_BATCHES_PER_RUN):
            batch = self.store.finished_before(self.retention_seconds)
            if not batch:
                break
            for job in batch:
                self.storage.delete_all(job.id)
            self.store.expire([job.id for job in batch])
            purged += len(batch)
        if purged:
            log.info("retention: purged %d finished requests and their media", purged)
        return purged
