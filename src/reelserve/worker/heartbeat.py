"""The worker's heartbeat thread: its row in the store (what `/healthz` and `/metrics` list) and a
renewal of every lease in hand, once per `WorkerConfig.heartbeat_seconds`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from reelserve import metrics
from reelserve.engines.runtime import cuda_memory
from reelserve.errors import StoreBusyError
from reelserve.store import JobStore
from reelserve.worker.lease import Lease

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, store: JobStore, worker_id: str, engine_info: Callable[[], dict[str, Any]],
                 leases: Callable[[], list[Lease]]) -> None:
        self._store = store
        self._worker_id = worker_id
        self._engine_info = engine_info  # read at each beat: "loading" until the engine is ready
        self._leases = leases  # the leases in hand at each beat
        self._lock = threading.Lock()  # a beat that read "loading" must not land after one saying "ready"

    def run(self, wait_stopped: Callable[[], bool]) -> None:
        """Beat until `wait_stopped()` (which waits up to one interval) says the worker has stopped."""
        while True:
            for beat in (self.beat, self.renew):
                try:
                    beat()
                except StoreBusyError:  # a missed beat is retried next time; the lease outlasts two of them
                    log.warning("worker heartbeat missed: the queue database is unavailable")
                except Exception:
                    log.exception("worker heartbeat failed")
            if wait_stopped():
                return

    def beat(self) -> None:
        """Write the worker's row now (the worker calls it too, the moment its engine is ready)."""
        with self._lock:
            info = self._engine_info()
            self._store.heartbeat_worker(self._worker_id, info)
        device = str(info.get("device", ""))
        for kind, used in cuda_memory(device).items():
            metrics.GPU_MEMORY.labels(device, kind).set(used)

    def renew(self) -> None:
        for lease in self._leases():
            lease.renew()
