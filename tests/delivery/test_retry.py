"""When a failed webhook is tried again."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

from reelserve.delivery import RetryPolicy


def schedule(policy: RetryPolicy) -> list[float]:
    """The attempts' offsets from the event, in seconds, as next_attempt spaces them without jitter."""
    steady = dataclasses.replace(policy, jitter=0.0)
    created = at = datetime(2026, 11, 22, tzinfo=UTC)
    offsets, made = [0.0], 1
    while (at := steady.next_attempt(created, made, at)) is not None:
        offsets.append((at - created).total_seconds())
        made += 1
    return offsets


def test_the_retry_schedule_spans_a_day_in_about_fifteen_attempts_with_jitter() -> None:
    policy = RetryPolicy()
    offsets = schedule(policy)
    assert len(offsets) == 15 and offsets[0] == 0 and offsets[1] == 15 and offsets[-1] <= 24 * 3600
    created = datetime(2026, 11, 22, tzinfo=UTC)
    at = policy.next_attempt(created, 1, created, random.Random(1))
    assert timedelta(seconds=12) <= at - created <= timedelta(seconds=18)  # 15 s ± 20%
    late = created + timedelta(hours=23, minutes=59)
    assert policy.next_attempt(created, 14, late) is None  # past the day: the event has failed
