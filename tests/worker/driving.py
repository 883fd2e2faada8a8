"""Driving a worker in a test the way production does: `Worker.run` in its own thread, generating
beside publishing, until the jobs under test have ended; then stopped, with both its threads done."""

from __future__ import annotations

import threading
import time
from collections import Counter

from reelserve.store import Job, JobStore
from reelserve.worker import Worker, WorkerConfig

# The margins below hold on a loaded machine: 2 cores with 8 busy processes beside the tests.
JOBS_TIMEOUT_SECONDS = 300  # for a handful of tiny-weight jobs to end
STARTED_TIMEOUT_SECONDS = 60  # for a stand-in engine to be called, or a stopped worker's threads to end
# A lease a test's request outlives several times over: its heartbeat (a third of it) must still land in time.
SHORT_LEASE_SECONDS = 1.0


def worker_for(settings, store: JobStore, storage, engine, **config) -> Worker:
    """A worker on `engine` with the tests' config (30 s leases, 10 ms polls) unless `config` says otherwise."""
    values = {"lease_seconds": 30, "poll_seconds": 0.01, "scratch_dir": settings.data_dir / "tmp", **config}
    return Worker(store, storage, lambda: engine, WorkerConfig(**values))


def work_through(worker: Worker, store: JobStore, job_ids: list[str],
                 timeout: float = JOBS_TIMEOUT_SECONDS) -> list[Job]:
    """Run `worker` until every job in `job_ids` has ended; then stop it. The jobs as they ended, in order."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="test-worker", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not all((job := store.get(i)) is not None and job.status.is_terminal for i in job_ids):
            seen = Counter(j.status.value if (j := store.get(i)) else "gone" for i in job_ids)
            assert thread.is_alive(), f"the worker's loop ended with the jobs {dict(seen)}"
            assert time.monotonic() < deadline, f"the jobs were still {dict(seen)} after {timeout} s"
            time.sleep(0.02)
    finally:
        stop.set()
        worker.wake()
        thread.join(timeout=60)  # the publisher finishes what it holds (a retried completion, say) first
    assert not thread.is_alive(), "the worker did not stop within 60 s of being asked"
    return [store.get(i) for i in job_ids]
