"""A claimed job's lease, held by one worker: renewed by the heartbeat, checked by the engine's steps,
handed back at shutdown, and released by the fenced write of the job's outcome.

One lock orders renewals against the outcome write, so a renewal can never run beside the completion
that releases the lease and then mistake the released lease for a lost one.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable

from reelserve.errors import LeaseLostError, StoreBusyError, UnavailableError
from reelserve.store import JobStore

log = logging.getLogger(__name__)


class LeaseStatus(enum.Enum):
    HELD = "held"  # renewed by the heartbeat until the outcome is written
    LOST = "lost"  # a renewal or the outcome write found it gone: another worker may have the job now
    HANDED_BACK = "handed_back"  # given back to the queue at shutdown: the engine stops at its next step
    SETTLED = "settled"  # the outcome write is done with (written, or failed for good): nothing to renew


class Lease:
    def __init__(self, store: JobStore, job_id: str, worker_id: str, seconds: float) -> None:
        self._store = store
        self.job_id = job_id
        self.worker_id = worker_id
        self.seconds = seconds
        self.status = LeaseStatus.HELD
        self._lock = threading.Lock()

    def renew(self) -> None:
        """Extend the lease while held; a renewal that finds it gone marks it lost."""
        with self._lock:
            if self.status is LeaseStatus.HELD and not self._store.renew_lease(self.job_id, self.worker_id,
                                                                               self.seconds):
                log.warning("job %s: lease lost (this worker was stalled past it); stopping its generation",
                            self.job_id)
                self.status = LeaseStatus.LOST

    def check(self) -> None:
        """Raise `LeaseLostError` once the job is no longer this worker's to finish (from the engine's steps)."""
        if self.status in (LeaseStatus.LOST, LeaseStatus.HANDED_BACK):
            raise LeaseLostError()

    def hand_back(self, on_request: bool = False) -> None:
        """Give the job back to the queue now, for another worker to take without waiting for the lease
        to run out: the grace period ran out, or (`on_request`) a second SIGINT or SIGTERM cut it short.
        Not under the lock: a renewal stuck on an unreachable database must not hold up a shutdown; the
        release is fenced in SQL, so it cannot undo a completion that won the race."""
        why = ("handed back on request (a second SIGINT or SIGTERM)" if on_request
               else "not finished within the shutdown grace period")
        try:
            if self._store.release(self.job_id, self.worker_id):
                log.warning("job %s: %s; back in the queue", self.job_id, why)
        except StoreBusyError:
            log.warning("job %s: could not hand it back (database unavailable); it returns to the queue when its "
                        "lease expires", self.job_id)
        self.status = LeaseStatus.HANDED_BACK

    def settle(self, write: Callable[[], None]) -> None:
        """Write the job's outcome (the fenced complete or fail) under the lock; afterwards nothing renews it."""
        with self._lock:
            try:
                write()
            except UnavailableError:
                raise  # not written: still this worker's job, and the heartbeat keeps renewing it
            except LeaseLostError:
                self.status = LeaseStatus.LOST
                raise
            except BaseException:
                self.status = LeaseStatus.SETTLED
                raise
            self.status = LeaseStatus.SETTLED
