"""The wire's JSON bodies, built from a job: what the HTTP layer answers and what a webhook event carries.

Below both `api` and `delivery`, so a GPU worker's webhook loop never loads the web framework (cog's `schema.py`,
shared by its HTTP server and its webhook sender alike). Pure formatting, bar `links_for`, which signs a
completed job's links: the one place they are built. `api/wire.py` describes these bodies for OpenAPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reelserve.storage import MediaStorage
from reelserve.store import Job, Status, WebhookDelivery
from reelserve.webhooks import EventType


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def request_urls(base_url: str, job_id: str) -> dict[str, str]:
    root = f"{base_url}/v1/requests/{job_id}"
    return {"status_url": f"{root}/status", "result_url": f"{root}/result", "cancel_url": f"{root}/cancel"}


def submit_body(base_url: str, job: Job) -> dict[str, Any]:
    return {"request_id": job.id, **request_urls(base_url, job.id)}


def status_body(base_url: str, job: Job, queue_position: int | None) -> dict[str, Any]:
    """`queue_position` is read only for a queued job (None otherwise)."""
    urls = request_urls(base_url, job.id)
    body: dict[str, Any] = {
        "request_id": job.id,
        "status": job.status.value,
        "status_url": urls["status_url"],
        "result_url": urls["result_url"],
    }
    if job.status is Status.IN_QUEUE:
        body["queue_position"] = queue_position
    elif job.status is Status.IN_PROGRESS:
        body["progress"] = round(job.progress or 0.0, 1)
    return body


@dataclass(frozen=True)
class OutputLinks:
    """A completed job's signed links: its video, and its poster when the worker wrote one."""

    video: str
    poster: str | None = None


def output_body(links: OutputLinks) -> dict[str, str]:
    # The seeds' `output.video` exactly as it was; `poster` only when there is one.
    return {"video": links.video} | ({"poster": links.poster} if links.poster else {})


def links_for(storage: MediaStorage, job: Job) -> OutputLinks | None:
    """Freshly signed links to a completed job's files; None for any other job."""
    if job.status is not Status.COMPLETED or not job.output_key:
        return None
    return OutputLinks(storage.url_for(job.output_key), storage.url_for(job.poster_key) if job.poster_key else None)


def _request_fields(job: Job, links: OutputLinks | None) -> dict[str, Any]:
    """What a result and a history item both say of a request."""
    body: dict[str, Any] = {"request_id": job.id, "model_id": job.model_id, "status": job.status.value}
    if links is not None:
        body["output"] = output_body(links)
    if job.status is Status.FAILED:
        body["error"] = {"code": job.error_code, "message": job.error_message}
    body.update(created_at=iso(job.created_at), started_at=iso(job.started_at), finished_at=iso(job.finished_at))
    return body


def result_body(job: Job, links: OutputLinks | None) -> dict[str, Any]:
    """`links` are a completed job's signed links (None otherwise)."""
    body = _request_fields(job, links)
    if job.metadata and job.status.is_terminal:
        body["metadata"] = job.metadata
    return body


def history_item(job: Job, links: OutputLinks | None) -> dict[str, Any]:
    """A request in GET /v1/requests: its result fields less the metadata, plus its validated input."""
    return {**_request_fields(job, links), "input": job.input}


def webhook_log_body(job: Job, deliveries: list[WebhookDelivery]) -> dict[str, Any]:
    subscription = None
    if job.webhook is not None:
        subscription = {"url": job.webhook.url, "events": [EventType.of(k).value for k in job.webhook.kinds]}
    return {"request_id": job.id, "webhook": subscription, "deliveries": [{
        "webhook_id": d.event.id, "type": d.event.type, "state": d.event.state.value,
        # The store clears it when an event is delivered or failed: null then.
        "created_at": iso(d.event.created_at), "next_attempt_at": iso(d.event.next_attempt_at),
        "attempts": [{"attempt": a.attempt, "at": iso(a.at), "status_code": a.status_code, "latency_ms": a.latency_ms,
                      "error": a.error} for a in d.attempts],
    } for d in deliveries]}


def cancel_body(job: Job) -> dict[str, Any]:
    # Keyed on the state, not on who won: a client retrying a cancel that already took still reads "cancelled".
    outcome = "cancelled" if job.status is Status.CANCELLED else "not_cancellable"
    return {"request_id": job.id, "status": job.status.value, "outcome": outcome}
