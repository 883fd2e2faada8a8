"""`reelserve serve`'s worker in a child process of its own, started again when it dies.

The engine runs native code (torch, CUDA, PyAV): a segfault, a CUDA fault or the kernel's OOM killer ends
the process it runs in. In a process of its own that is the worker alone, as cog runs predictions in a
child: the API keeps answering, the request in hand goes back to the queue when its lease runs out (the
next worker's reaper requeues it), and a new worker starts. A worker that cannot load its engine at all
stops the server, loudly, as before: restarting it would only fail again.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from reelserve import metrics
from reelserve.settings import Settings

log = logging.getLogger("reelserve")

FIRST_RESTART_SECONDS = 1.0  # after a crash; doubles while the worker keeps dying, up to the cap
MAX_RESTART_SECONDS = 30.0
HEALTHY_SECONDS = 60.0  # a worker that ran this long before dying restarts after the first delay again
STOP_MARGIN_SECONDS = 10.0  # past the grace period: the child's own drain and exit
LOAD_FAILED = 3  # the child's exit code when its engine could not load
TRACKER_QUIET = "ignore:resource_tracker:UserWarning"


class WorkerProcess:
    """Runs, watches and restarts the worker child; `shutdown` drains it within the grace period."""

    def __init__(self, settings: Settings, on_failure: Callable[[], None]) -> None:
        self.settings = settings
        self.failed = threading.Event()  # the engine could not load: the server must stop
        self._on_failure = on_failure
        self._stopping = threading.Event()
        self._context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or locks inherited
        # A killed worker leaves the semaphores of its libraries' locks (tqdm's) to multiprocessing's resource
        # tracker, which removes them and says so on stderr, untimestamped: expected after a crash, so not logged.
        # The tracker takes its warning filters from this interpreter's -W options when it starts.
        if TRACKER_QUIET not in sys.warnoptions:
            sys.warnoptions.append(TRACKER_QUIET)
        self._child: Any = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)

    def start(self) -> WorkerProcess:
        metrics.share_with_children()  # the worker's numbers (outcomes, stages...) reach this server's /metrics
        self._thread.start()
        return self

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._child.pid if self._child is not None else None

    def shutdown(self, grace_seconds: float) -> None:
        """SIGTERM the worker: it stops claiming and gets the grace period for the job in hand. A second
        SIGINT or SIGTERM to this process is passed on, and the worker hands its job back at once."""
        self._stopping.set()
        child = self._current()
        if child is None or not child.is_alive():
            return
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: _signal(child, signal.SIGINT))
        _signal(child, signal.SIGTERM)
        child.join(grace_seconds + STOP_MARGIN_SECONDS)
        if child.is_alive():
            log.warning("the worker process did not stop within the grace period; killing it")
            child.kill()
            child.join()

    def _current(self) -> Any:
        with self._lock:
            return self._child

    def _supervise(self) -> None:
        delay = FIRST_RESTART_SECONDS
        while not self._stopping.is_set():
            # A pipe, not a multiprocessing Event: an Event is a named semaphore the resource tracker warns about.
            reader, writer = self._context.Pipe(duplex=False)
            child = self._context.Process(target=run_child, args=(self.settings, writer, os.getpid()),
                                          name="reelserve-worker", daemon=False)
            with self._lock:
                child.start()
                self._child = child
            writer.close()
            started = time.monotonic()
            child.join()
            ready = reader.poll()
            reader.close()
            if self._stopping.is_set():
                return
            if child.exitcode == LOAD_FAILED or not ready:
                log.critical("the worker process could not start (exit code %s); stopping the server", child.exitcode)
                self.failed.set()
                self._on_failure()
                return
            if time.monotonic() - started > HEALTHY_SECONDS:
                delay = FIRST_RESTART_SECONDS
            log.error("the worker process died (%s); the API keeps serving, the request it held returns to the queue "
                      "when its lease runs out, and a new worker starts in %.0f s", _describe(child.exitcode), delay)
            self._stopping.wait(delay)
            delay = min(delay * 2, MAX_RESTART_SECONDS)  # while it keeps dying


def run_child(settings: Settings, ready: Any, parent_pid: int) -> None:
    """The child's whole life: load the engine, say so on `ready` (a pipe's write end), then work until
    signalled (worker/shutdown.py)."""
    from reelserve.cli.compose import build_worker
    from reelserve.cli.logs import setup_logging
    from reelserve.worker.shutdown import run_until_signalled

    _die_with_parent(parent_pid)
    # A group of its own: a terminal's Ctrl-C reaches the server alone, which passes it on (shutdown), so one
    # Ctrl-C is one signal here and the job in hand gets its grace period.
    os.setpgrp()
    setup_logging()
    worker = build_worker(settings)
    try:
        worker.load()
    except Exception:
        log.critical("the worker could not load its engine", exc_info=True)
        sys.exit(LOAD_FAILED)
    ready.send_bytes(b"ready")
    ready.close()
    sys.exit(0 if run_until_signalled(worker, settings.shutdown_grace_seconds) else 1)


def _die_with_parent(parent_pid: int) -> None:
    """Linux: SIGTERM this process when the server dies, so a killed server leaves no worker behind."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the server died before the call took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _signal(child: Any, signum: int) -> None:
    if child.pid is not None and child.is_alive():
        os.kill(child.pid, signum)


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}"
