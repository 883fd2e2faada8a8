"""The one object callers hold: `JobStore`, every concern of the durable queue over one backend.

State rules live in two places that read together: the conditional writes in `queries/common.sql`
(a transition happens only from the state it allows, so two processes can never both win a job)
and the concerns' public methods, which turn "0 rows changed" into the right exception and keep ids,
hashes and the clock in one place. As procrastinate splits its connector from its manager, what a
backend implements (connections, transactions, push, column types) is `backend.py`, and what callers
ask is a mixin per concern over it: `schema.py` (migrations), `keys.py`, `admission.py` (submits),
`jobs.py` (reads and lease transitions), `outbox.py` (webhook events and secrets), `retention.py`
and `workers.py` (heartbeats). `sqlite.py` and `postgres.py` subclass `JobStore`.
"""

from __future__ import annotations

from reelserve.store.admission import Submits
from reelserve.store.jobs import Jobs
from reelserve.store.keys import Keys
from reelserve.store.retention import Retention
from reelserve.store.schema import Schema
from reelserve.store.workers import Workers


class JobStore(Schema, Keys, Submits, Jobs, Retention, Workers):
    """A durable queue of jobs plus the API keys that own them."""
