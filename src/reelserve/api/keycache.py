"""API-key lookups remembered for a second: a status poll need not hash and query for its key.

Every authenticated call used to read the key's row. Clients poll about once a second per
request, so most lookups repeat one a moment ago. An answer (a key, or "no such active key") is
kept for `ttl_seconds` (1 s), so a revocation still takes effect within a second on every API
replica, each with its own cache. Entries are keyed by the key's hash, never its plaintext, and
the cache is bounded: when full it is emptied, which costs one lookup per key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from reelserve.store import ApiKey, JobStore
from reelserve.store.keys import hash_api_key

MAX_ENTRIES = 10_000


class KeyCache:
    def __init__(self, store: JobStore, ttl_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def authenticate(self, plaintext: str) -> ApiKey | None:
        digest = hash_api_key(plaintext)
        now = self._clock()
        with self._lock:
            cached = self._entries.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        key = self.store.authenticate(plaintext)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[digest] = (now + self.ttl_seconds, key)
        return key

    def still_active(self, plaintext: str, key_id: str) -> bool:
        """Whether `plaintext` still authenticates as `key_id`: for what outlives one call (an event
        stream), so a revocation reaches it within `ttl_seconds` as it reaches every new call."""
        key = self.authenticate(plaintext)
        return key is not None and key.id == key_id
