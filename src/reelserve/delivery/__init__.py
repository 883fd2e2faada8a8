"""Webhook delivery: signed events sent with retries, from any server or worker process.

`Sender` makes one attempt under the address rules (reelserve.addresses); `RetryPolicy` says when
the next one is due. See docs/reliability.md.
"""

from __future__ import annotations

from reelserve.delivery.retry import RetryPolicy
from reelserve.delivery.sender import Outcome, Sender

__all__ = ["Outcome", "RetryPolicy", "Sender"]
