"""Webhook delivery: signed events sent with retries, from any server or worker process.

`Deliverer` claims due events from the store's outbox and sends them on a bounded pool of its own;
`Sender` makes one attempt under the address rules (reelserve.addresses), within one deadline and reading
no more of the answer than the log keeps, and says what it came to as the store's `WebhookAttempt`, which
the deliverer numbers and the store keeps; `RetryPolicy` says when
the next one is due; `EventBodies` builds each attempt's body. See docs/reliability.md.
"""

from __future__ import annotations

from reelserve.delivery.deliverer import Deliverer, DeliveryThread
from reelserve.delivery.payload import EventBodies
from reelserve.delivery.retry import RetryPolicy
from reelserve.delivery.sender import Sender

__all__ = ["Deliverer", "DeliveryThread", "EventBodies", "RetryPolicy", "Sender"]
