"""The webhook outbox: events written in the transaction of the change they announce, leased to a
delivery loop like jobs to a worker, each attempt kept; and each key's signing secret."""

from __future__ import annotations

from datetime import datetime, timedelta

from reelserve.store import wake
from reelserve.store.backend import Backend, Connection
from reelserve.store.job import OPTIONAL_EVENTS, DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEvent
from reelserve.webhooks import EventType, new_secret

NO_SHARE = 2**31 - 1  # a webhook claim's `per_owner` when the caller sets none: any number of one key's events


def event_id(job_id: str, kind: str) -> str:
    """The `webhook-id` of a job's `kind` event: fixed, so nothing can make a second one."""
    return f"msg_{job_id}_{kind}"


class Outbox(Backend):
    def _announce(self, conn: Connection, job_id: str, kind: str, now: datetime) -> None:
        """Write the job's `kind` event into the outbox, in the caller's transaction (nothing when the
        job has no webhook, asked not to hear of `kind`, or already announced it)."""
        asked = f"%,{kind},%" if kind in OPTIONAL_EVENTS else "%"
        if self._run(conn, "enqueue_webhook", id=event_id(job_id, kind), job_id=job_id, type=EventType.of(kind).value,
                     asked=asked, now=now) == 1:
            self._signal(conn, wake.WEBHOOKS)

    def webhook_secret(self, key_id: str) -> str:
        """The key's webhook signing secret (`whsec_...`), made on first use."""
        row = self._read_row("webhook_secret_of", id=key_id)
        if row is not None and row["webhook_secret"]:
            return str(row["webhook_secret"])
        self._write("set_webhook_secret_if_none", id=key_id, secret=new_secret())
        return str(self._read_row("webhook_secret_of", id=key_id)["webhook_secret"])

    def rotate_webhook_secret(self, key_id: str) -> str | None:
        """Replace the key's signing secret; the new one, or None when there is no such active key.
        Attempts from now on are signed with it, retries of older events included."""
        secret = new_secret()
        return secret if self._write("set_webhook_secret", id=key_id, secret=secret) == 1 else None

    def claim_webhook_events(self, lease_owner: str, limit: int, lease_seconds: float,
                             per_owner: int | None = None) -> list[WebhookEvent]:
        """Lease up to `limit` due events to `lease_owner`, so that it then holds at most `per_owner` of
        any one key's (counting the leases it holds already): one key's slow receivers cannot take every
        delivery thread. Keys take turns, the fewest held first, each key's oldest due first."""
        now = self.clock()
        with self._statement() as conn:
            rows = self._rows(conn, "claim_webhook_events", lease_owner=lease_owner, now=now,
                              expires=now + timedelta(seconds=lease_seconds), limit=limit,
                              per_owner=NO_SHARE if per_owner is None else per_owner)
        return [self._event(row) for row in rows]

    def record_webhook_attempt(self, event: WebhookEvent, lease_owner: str, attempt: WebhookAttempt,
                               next_attempt_at: datetime | None) -> bool:
        """Keep an attempt's outcome and settle the event: delivered on a 2xx, else due again at
        `next_attempt_at`, or failed when that is None. False (nothing kept) when `lease_owner` no
        longer holds the event's lease."""
        if attempt.delivered:
            state = DeliveryState.DELIVERED
        else:
            state = DeliveryState.PENDING if next_attempt_at is not None else DeliveryState.FAILED
        with self._transaction() as conn:
            if self._run(conn, "settle_webhook_event", id=event.id, lease_owner=lease_owner, attempts=attempt.attempt,
                         state=state.value, next_attempt_at=next_attempt_at) != 1:
                return False
            self._run(conn, "insert_webhook_attempt", event_id=event.id, attempt=attempt.attempt, at=attempt.at,
                      status_code=attempt.status_code, latency_ms=attempt.latency_ms, error=attempt.error)
            if state is DeliveryState.PENDING:
                self._signal(conn, wake.WEBHOOKS)  # a delivery loop sleeping longer than the backoff re-reads
        return True

    def webhook_deliveries(self, job_id: str) -> list[WebhookDelivery]:
        """The job's events with their attempts, oldest first (the caller checks who owns the job)."""
        with self._connection() as conn:
            events = self._rows(conn, "webhook_events_of_job", job_id=job_id)
            attempts = self._rows(conn, "webhook_attempts_of_job", job_id=job_id)
        by_event: dict[str, list[WebhookAttempt]] = {}
        for row in attempts:
            by_event.setdefault(row["event_id"], []).append(self._attempt(row))
        return [WebhookDelivery(event, by_event.get(event.id, [])) for event in map(self._event, events)]
