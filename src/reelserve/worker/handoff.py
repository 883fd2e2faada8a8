"""The one-clip slot between a worker's generating side and its publishing side.

The loop thread renders a clip and puts it here; the publisher thread takes it, encodes, uploads
and completes it. The slot holds at most one clip, and the loop claims its next job only once the
slot is empty again, so a worker never holds more than two rendered clips (one being published,
one waiting) and never holds a claimed job it cannot start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    def __init__(self, changed: threading.Condition) -> None:
        # The worker's own condition: a change here is a change of what the worker holds, which its
        # state and drain() wait on.
        self._changed = changed
        self._waiting: T | None = None
        self._closed = False

    def put(self, item: T) -> None:
        """Leave `item` for the publisher; the slot must be empty (the loop waited for it before claiming)."""
        with self._changed:
            assert self._waiting is None, "the loop claims only when the slot is empty"
            self._waiting = item
            self._changed.notify_all()

    def wait_empty(self, until: Callable[[], bool]) -> None:
        """Block until the publisher has taken what was left, or `until()` is true (checked on every
        notification of the condition: the worker's wake() sends one)."""
        with self._changed:
            self._changed.wait_for(lambda: self._waiting is None or until())

    def take(self) -> T | None:
        """The next clip to publish, waiting for one; None once closed and empty."""
        with self._changed:
            self._changed.wait_for(lambda: self._waiting is not None or self._closed)
            item, self._waiting = self._waiting, None
            self._changed.notify_all()
            return item

    def close(self) -> None:
        """No more puts: the publisher finishes what is left, then `take` answers None."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
