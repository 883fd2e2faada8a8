"""What a job is: its states and fields. Pure: no I/O.

Internally the unit of work is a *job*; on the wire the same thing is a *request* and its id is
the `request_id`. Status values are the wire's spelling so no translation table is needed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
