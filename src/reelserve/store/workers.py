"""Worker heartbeats: each worker process says it is alive, and what it serves, every few seconds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reelserve.store.backend import Backend
from reelserve.store.job import WorkerInfo


class Workers(Backend):
    def heartbeat_worker(self, worker_id: str, engine: dict[str, Any]) -> None:
        self._write("upsert_worker", id=worker_id, engine=engine, now=self.clock())

    def live_workers(self, within_seconds: float) -> list[WorkerInfo]:
        since = self.clock() - timedelta(seconds=within_seconds)
        with self._connection() as conn:
            return [self._worker(row) for row in self._rows(conn, "workers_since", since=since)]
