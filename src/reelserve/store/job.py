"""What a job is: its states and fields. Pure: no I/O.

Internally the unit of work is a *job*; on the wire the same thing is a *request* and its id is
the `request_id`. Status values are the wire's spelling so no translation table is needed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reelserve.webhooks import EventType


class Status(str, enum.Enum):
    IN_QUEUE = "in_queue"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})

# The events a webhook can announce: every terminal one always, `started` only when asked for.
EVENT_KINDS = tuple(event.kind for event in EventType)
OPTIONAL_EVENTS = frozenset({EventType.STARTED.kind})


def delivers(status_code: int | None) -> bool:
    """Whether a receiver's answer delivers a webhook: any 2xx (Standard Webhooks); no answer never does."""
    return status_code is not None and 200 <= status_code < 300


@dataclass(frozen=True)
class Webhook:
    """Where a request's events go, and which optional ones (`OPTIONAL_EVENTS`) it asked for."""

    url: str
    events: frozenset[str] = frozenset()

    @property
    def kinds(self) -> list[str]:
        """Every event kind this webhook is sent, in EVENT_KINDS order."""
        return [kind for kind in EVENT_KINDS if kind not in OPTIONAL_EVENTS or kind in self.events]


class DeliveryState(str, enum.Enum):
    PENDING = "pending"  # due now, or waiting for its next attempt
    DELIVERED = "delivered"  # a 2xx came back
    FAILED = "failed"  # every attempt in the retry window failed


@dataclass(frozen=True)
class WebhookEvent:
    """One event in the outbox; `id` is its `webhook-id`, the same on every attempt."""

    id: str
    job_id: str
    owner: str
    type: EventType
    url: str
    created_at: datetime
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class WebhookAttempt:
    """What one delivery attempt came to: the receiver's status code, or an error (refused, unresolvable,
    timeout, connection). The sender makes it (delivery/sender.py), the deliverer numbers it for its event
    and the store keeps it; `answer` and `final` only steer the deliverer and are not kept."""

    at: datetime  # when it began
    status_code: int | None
    latency_ms: float
    error: str | None = None
    attempt: int = 0  # the event's n-th attempt; 0 until the deliverer, which knows the event, numbers it
    answer: bytes = b""  # the first bytes of the answer's body, as sent (never decoded): why a receiver said no
    final: bool = False  # no later attempt can do better (the URL is unusable, or names a refused address)

    @property
    def delivered(self) -> bool:
        return delivers(self.status_code)


@dataclass(frozen=True)
class WebhookDelivery:
    """An event with its attempts, oldest first: a line of GET /v1/requests/{id}/webhooks."""

    event: WebhookEvent
    attempts: list[WebhookAttempt]


@dataclass(frozen=True)
class Job:
    id: str
    owner: str
    model_id: str
    input: dict[str, Any]
    status: Status
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: int = 0
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    progress: float | None = None
    output_key: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    poster_key: str | None = None  # a JPEG of one frame, beside the video
    seq: int = 0  # submit order: the queue's order, and the history cursor
    webhook: Webhook | None = None


@dataclass(frozen=True)
class HistoryPage:
    """One page of a key's requests, newest first; `next_before` is the cursor of the next page."""

    jobs: list[Job]
    next_before: int | None


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    engine: dict[str, Any]
    started_at: datetime
    last_seen_at: datetime
