"""Which workers count as live: the one answer /healthz, /v1/health and /metrics give."""

from __future__ import annotations

from reelserve.store import JobStore, WorkerInfo

# A worker beats at least every 5 s (worker/runner.py), so a few late beats (a slow database, a long
# GC pause) do not drop it from the health answer or the live-workers gauge.
LIVE_WITHIN_SECONDS = 30.0


def live_workers(store: JobStore) -> list[WorkerInfo]:
    return store.live_workers(LIVE_WITHIN_SECONDS)
