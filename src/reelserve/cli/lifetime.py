"""What every service process (`reelserve serve`, `reelserve worker`) runs beside its work, as `with` blocks.

Imported by those two commands only, when they run (cli/server.py): webhook delivery loads anyio and the
wire formats, which `reelserve keys ...` never needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reelserve import metrics
from reelserve.delivery import Deliverer, DeliveryThread


@contextmanager
def webhooks_delivered(deliverer: Deliverer) -> Iterator[None]:
    """Deliver webhooks in a thread of this process while the block runs. At its end the attempts in flight
    get one attempt's deadline to finish; one still running then is left to its lease (made again elsewhere)."""
    thread = DeliveryThread(deliverer).start()
    try:
        yield
    finally:
        thread.stop(deliverer.sender.deadline_seconds)


@contextmanager
def metrics_dropped_at_exit() -> Iterator[None]:
    """At the block's end, however it ends, this process's live gauges leave the shared metrics folder."""
    try:
        yield
    finally:
        metrics.process_exited()
