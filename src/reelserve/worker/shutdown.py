"""Running a worker in a process: SIGTERM/SIGINT stop claiming, the current request gets a grace period.

The loop runs in a daemon thread so the main thread stays free to take signals and keep time.
After the grace period the request goes back to the queue at once (`Worker.drain`), and the
process exits 0 without waiting for the engine: whatever the engine still produces is fenced off
by the released lease, so nothing is lost or published twice.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

from reelserve.worker.runner import Worker

log = logging.getLogger(__name__)

ENGINE_STOP_SECONDS = 0.5  # after the grace period: time for the engine to stop at its next step


class WorkerThread:
    """One worker's loop in a daemon thread, and the shutdown protocol around it."""

    def __init__(self, worker: Worker, on_failure: Callable[[], None] | None = None) -> None:
        self.worker = worker
        self.stop = threading.Event()
        self.failed = threading.Event()
        self._on_failure = on_failure
        self._thread = threading.Thread(target=self._loop, name="worker", daemon=True)

    def start(self) -> WorkerThread:
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def shutdown(self, grace_seconds: float) -> None:
        """Stop claiming, drain within the grace period, and make sure the process can exit now.

        A second SIGINT or SIGTERM while a job is draining hands it back to the queue at once.
        """
        log.info("worker %s: shutting down (grace period %.1f s)", self.worker.id, grace_seconds)
        self.stop.set()
        self.worker.wake()
        hurry = threading.Event()
        if threading.current_thread() is threading.main_thread():  # only the main thread may set handlers
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: hurry.set())
        in_hand = self.worker.jobs_in_hand()  # one generating, and one being published
        jobs = ("job " if len(in_hand) == 1 else "jobs ") + " and ".join(in_hand)
        if in_hand:
            log.warning("waiting up to %.0f s for %s to finish; press Ctrl-C again to hand it back to the queue "
                        "and stop now (it runs again when a worker starts)", grace_seconds, jobs)
        if not self.worker.drain(grace_seconds, hurry) and hurry.is_set():
            log.warning("on request (a second SIGINT or SIGTERM, within the grace period): %s handed back to the "
                        "queue; stopping now", jobs)
        self._thread.join(ENGINE_STOP_SECONDS)
        if self._thread.is_alive():
            # Interpreter shutdown under a thread that is inside torch aborts the process (SIGABRT,
            # "terminate called without an active exception"); the request is already back in the
            # queue, so leave at once instead.
            log.warning("worker %s: the engine is still busy; exiting without waiting for it", self.worker.id)
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

    def _loop(self) -> None:
        try:
            self.worker.run(self.stop)
        except Exception:
            log.critical("the worker failed", exc_info=True)
            self.failed.set()
            if self._on_failure is not None:
                self._on_failure()


def run_until_signalled(worker: Worker, grace_seconds: float) -> bool:
    """Run `worker` until SIGTERM/SIGINT, then shut it down; False if the worker itself failed (e.g. engine load)."""
    thread = WorkerThread(worker)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: thread.stop.set())
    thread.start()
    while thread.is_alive() and not thread.stop.wait(0.2):
        pass
    if thread.failed.is_set():
        return False
    thread.shutdown(grace_seconds)
    return True
