"""Which open event streams a job change concerns: one store subscription per API process, fanned out.

The store tells this process of every committed change (`JobStore.subscribe_changes`: the job's
id, or `*` when the queue moved), directly for a change made here and by the backend's push
(PostgreSQL NOTIFY, SQLite datagrams) for one made by a worker elsewhere. Each open stream waits
on an asyncio event of its own and re-reads its job only when that job, or the queue, moved: a
hundred idle streams cost no database reads. The subscription is held only while a stream is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator

from reelserve.store import JobStore
from reelserve.store.wake import QUEUE_MOVED


class ChangeFeed:
    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._watchers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    @contextlib.contextmanager
    def watch(self, job_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever `job_id` (or the queue) may have changed; the caller clears it."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._watchers.setdefault(job_id, set()).add(entry)
            subscribe = self._unsubscribe is None
        if subscribe:
            self._subscribed(self._store.subscribe_changes(self._on_change))
        try:
            yield entry[1]
        finally:
            with self._lock:
                watchers = self._watchers.get(job_id, set())
                watchers.discard(entry)
                if not watchers:
                    self._watchers.pop(job_id, None)
                stop = self._unsubscribe if not self._watchers else None
                if stop is not None:
                    self._unsubscribe = None
            if stop is not None:
                stop()

    def _subscribed(self, unsubscribe: Callable[[], None]) -> None:
        with self._lock:
            extra = unsubscribe if self._unsubscribe is not None else None  # two streams raced to subscribe
            if extra is None:
                self._unsubscribe = unsubscribe
        if extra is not None:
            extra()

    def _on_change(self, payload: str) -> None:
        """From whichever thread committed or heard the change."""
        with self._lock:
            if payload == QUEUE_MOVED:
                entries = [e for watchers in self._watchers.values() for e in watchers]
            else:
                entries = list(self._watchers.get(payload, ()))
        for loop, event in entries:
            with contextlib.suppress(RuntimeError):  # its loop closed: the stream is ending
                loop.call_soon_threadsafe(event.set)
