"""Admitting a job: the Idempotency-Key lookup, the per-key limits and the insert, in one transaction."""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reelserve.errors import IdempotencyKeyReusedError, TooManyRequestsError
from reelserve.store.backend import Backend, Transaction
from reelserve.store.job import Job, Status, Webhook

IDEMPOTENCY_TTL = timedelta(hours=24)
RATE_WINDOW = timedelta(minutes=1)
ACTIVE_LIMIT_RETRY_AFTER = 10  # seconds; a queued request's wait is unknowable, so a polite constant


def request_hash(model_id: str, input: dict[str, Any], webhook: Webhook | None = None) -> str:
    """What "the same body" means for an Idempotency-Key: the model and the validated input, key order
    aside, and the webhook when there is one (so hashes recorded before webhooks existed still match)."""
    parts: list[Any] = [model_id, input]
    if webhook is not None:
        parts.append([webhook.url, sorted(webhook.events)])
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class SubmitLimits:
    """Per-API-key admission limits; None means unlimited."""

    max_active: int | None = None  # requests queued or running at once
    per_minute: int | None = None  # submits in any rolling minute

    @property
    def counted(self) -> bool:
        """Whether admission counts anything (and so must take the key's turn)."""
        return self.max_active is not None or self.per_minute is not None

    def check(self, admission: Admission, owner: str, now: datetime) -> None:
        if self.max_active is not None and admission.active_count(owner) >= self.max_active:
            raise TooManyRequestsError(
                f"This API key already has {self.max_active} requests queued or running, the most allowed: "
                "wait for some to finish, then submit again.", retry_after=ACTIVE_LIMIT_RETRY_AFTER)
        if self.per_minute is not None:
            count, oldest = admission.submits_since(owner, now - RATE_WINDOW)
            if count >= self.per_minute and oldest is not None:
                wait = max(1, math.ceil((oldest + RATE_WINDOW - now).total_seconds()))
                raise TooManyRequestsError(
                    f"This API key may submit at most {self.per_minute} requests a minute: retry in {wait} s.",
                    retry_after=wait)


NO_LIMITS = SubmitLimits()


class Admission:
    """What `submit_request` and `SubmitLimits` read and write inside the one transaction that admits a job."""

    def __init__(self, transaction: Transaction) -> None:
        self._tx = transaction

    def idempotent_job(self, owner: str, key: str, since: datetime) -> tuple[str, str] | None:
        """(job id, request hash) recorded for this key since `since`, or None."""
        row = self._tx.row("idempotent_job", owner=owner, key=key, since=since)
        return None if row is None else (row["job_id"], row["request_hash"])

    def active_count(self, owner: str) -> int:
        return self._tx.row("active_count", owner=owner)["active"]

    def submits_since(self, owner: str, since: datetime) -> tuple[int, datetime | None]:
        """How many jobs `owner` submitted since `since`, and when the oldest of them was."""
        row = self._tx.row("submits_since", owner=owner, since=since)
        return row["submits"], self._tx.time(row["oldest"])

    def insert_job(self, job: Job) -> None:
        webhook = job.webhook
        self._tx.run("insert_job", id=job.id, owner=job.owner, model_id=job.model_id, input=job.input,
                     created_at=job.created_at, webhook_url=webhook and webhook.url,
                     webhook_events=",".join(sorted(webhook.events)) if webhook else "")
        self._tx.claimable()

    def record_idempotency(self, owner: str, key: str, digest: str, job_id: str, now: datetime) -> None:
        """Insert, or replace a record older than the TTL."""
        self._tx.run("record_idempotency", owner=owner, key=key, request_hash=digest, job_id=job_id, now=now)

    def get_job(self, job_id: str) -> Job:
        return self._tx.job(self._tx.row("get_job", id=job_id))


class Submits(Backend):
    def submit_request(self, owner: str, model_id: str, input: dict[str, Any], *, idempotency_key: str | None = None,
                       limits: SubmitLimits = NO_LIMITS, webhook: Webhook | None = None,
                       job_id: str | None = None) -> tuple[Job, bool]:
        """Admit a job: (the job, True if it is an earlier one replayed for the same Idempotency-Key).
        `job_id`: the id to give a new job (the API names an image-to-video request's stored images by
        it before admitting it); a new UUID when None.

        The key lookup, the limit checks and the insert share one transaction, so concurrent
        duplicates make exactly one job and concurrent submits cannot overshoot a limit.
        """
        now = self.clock()
        # Only a keyed submit needs the body's hash: the common path skips serialising the input again.
        digest = request_hash(model_id, input, webhook) if idempotency_key is not None else None
        with self._transaction() as conn:
            if idempotency_key is not None or limits.counted:
                # Admissions for one key take turns so its counts and Idempotency-Key lookups are exact;
                # other keys never wait, and a submit with nothing to count skips the turn (a round trip).
                self._exclusive(conn, owner)
            admission = Admission(Transaction(self, conn))
            if idempotency_key is not None:
                prior = admission.idempotent_job(owner, idempotency_key, now - IDEMPOTENCY_TTL)
                if prior is not None:
                    return _replay(admission, *prior, digest), True
            limits.check(admission, owner, now)
            job = Job(id=job_id or str(uuid.uuid4()), owner=owner, model_id=model_id, input=input, status=Status.IN_QUEUE,
                      created_at=now, webhook=webhook)
            admission.insert_job(job)
            if idempotency_key is not None:
                admission.record_idempotency(owner, idempotency_key, digest, job.id, now)
        return job, False


def _replay(admission: Admission, job_id: str, prior_digest: str, digest: str | None) -> Job:
    if prior_digest != digest:
        raise IdempotencyKeyReusedError(detail=[{
            "loc": ["header", "Idempotency-Key"], "type": "idempotency_key_reused",
            "msg": f"already used for request {job_id} with a different body; send a new key"}])
    return admission.get_job(job_id)
