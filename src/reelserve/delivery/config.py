"""How a process delivers webhooks, as plain values: the CLI builds it from the settings (cli/compose.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reelserve.delivery.deliverer import Deliverer
from reelserve.delivery.payload import EventBodies
from reelserve.delivery.retry import RetryPolicy
from reelserve.delivery.sender import Sender

if TYPE_CHECKING:
    from reelserve.storage import MediaStorage
    from reelserve.store import JobStore


@dataclass(frozen=True)
class DeliveryConfig:
    """`timeout_seconds` bounds one attempt; an event's lease follows from it (deliverer.py: lease_for), and a
    process stopping gives the attempts in flight that long to finish."""

    timeout_seconds: float
    retry: RetryPolicy  # when a failed attempt is made again, and when the event is given up
    concurrency: int  # attempts this process makes at once
    allow_private: bool  # let webhooks reach loopback, private and other non-public addresses

    def deliverer(self, store: JobStore, storage: MediaStorage) -> Deliverer:
        """The delivery loop on this process's store and storage (the bodies carry links to its videos)."""
        sender = Sender(timeout_seconds=self.timeout_seconds, allow_private=self.allow_private)
        return Deliverer(store, sender, EventBodies(store, storage), concurrency=self.concurrency, retry=self.retry)
