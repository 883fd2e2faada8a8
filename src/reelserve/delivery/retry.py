"""When a failed delivery is tried again: exponential backoff with jitter, for up to a day."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """The n-th retry waits about `first_delay * 2**(n-1)`, at most `max_delay`, ±20% so that receivers
    coming back after an outage are not hit by every sender at once. With the defaults (15 s, 4 h,
    24 h) an event gets 15 attempts; one that would fall past `give_up_after` is not made."""

    first_delay_seconds: float = 15.0
    max_delay_seconds: float = 4 * 3600.0
    give_up_after_seconds: float = 24 * 3600.0
    jitter: float = 0.2

    def next_attempt(self, created_at: datetime, attempts_made: int, now: datetime,
                     rng: random.Random | None = None) -> datetime | None:
        """When to try again after `attempts_made` failed attempts; None: give up, the event has failed."""
        base = min(self.first_delay_seconds * 2 ** (attempts_made - 1), self.max_delay_seconds)
        spread = (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        at = now + timedelta(seconds=base * spread)
        return at if at <= created_at + timedelta(seconds=self.give_up_after_seconds) else None
