"""Response bodies on the wire: their pydantic models (for OpenAPI) and the builders that fill them.

Pure formatting: the handlers look up what a body needs (a queue position, a signed link) and pass it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from reelserve.store import Job, Status, WebhookDelivery

StatusValue = Literal["in_queue", "in_progress", "completed", "failed", "cancelled"]


class SubmitResponse(BaseModel):
    request_id: str
    status_url: str
    result_url: str
    cancel_url: str


class StatusResponse(BaseModel):
    request_id: str
    status: StatusValue
    status_url: str
    result_url: str
    queue_position: int | None = Field(None, description="Requests ahead of this one; only while in_queue.")
    progress: float | None = Field(None, description="0-100; only while in_progress.")


class ErrorInfo(BaseModel):
    code: str
    message: str


class Output(BaseModel):
    video: str
    poster: str | None = Field(None, description="reelserve extension: a signed JPEG link to one frame of the video.")


class ResultResponse(BaseModel):
    request_id: str
    model_id: str
    status: StatusValue
    output: Output | None = None
    error: ErrorInfo | None = None
    metadata: dict[str, Any] | None = None
    created_at: str
    started_at: str | None
    finished_at: str | None


class HistoryItem(BaseModel):
    request_id: str
    model_id: str
    status: StatusValue
    input: dict[str, Any] = Field(description="The validated input, defaults filled in.")
    output: Output | None = None
    error: ErrorInfo | None = None
    created_at: str
    started_at: str | None
    finished_at: str | None


class HistoryResponse(BaseModel):
    requests: list[HistoryItem] = Field(description="This API key's requests, newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null on the last.")


class CancelResponse(BaseModel):
    request_id: str
    status: StatusValue
    outcome: Literal["cancelled", "not_cancellable"]


class WebhookSecretResponse(BaseModel):
    key: str = Field(description="This API key's signing secret, `whsec_` and base64: verify each webhook with it.")


class WebhookSubscription(BaseModel):
    url: str
    events: list[str] = Field(description="The event types this request's webhook is sent.")


class WebhookAttemptItem(BaseModel):
    attempt: int
    at: str
    status_code: int | None = Field(description="The receiver's answer; null when there was none (see error).")
    latency_ms: float
    error: str | None = Field(description="Why no answer came: refused address, timeout, connection error...")


class WebhookDeliveryItem(BaseModel):
    webhook_id: str = Field(description="The `webhook-id` header, the same on every attempt: dedupe on it.")
    type: str
    state: Literal["pending", "delivered", "failed"]
    created_at: str
    next_attempt_at: str | None = Field(description="When it is attempted next; null once delivered or failed.")
    attempts: list[WebhookAttemptItem]


class WebhookLogResponse(BaseModel):
    request_id: str
    webhook: WebhookSubscription | None = Field(description="null: this request asked for no webhook.")
    deliveries: list[WebhookDeliveryItem] = Field(description="One per event, oldest first.")


class ErrorResponse(BaseModel):
    """Every error: a RunComfy error code (the HTTP status times 1000, plus one), a message that says
    what to fix, and for 422001 one entry per offending field."""

    error_code: int = Field(description="401001, 400001 (unknown model), 403001, 404001, 413001, 416001, "
                                        "422001 (invalid input), 422002 (Idempotency-Key reused), 429001, "
                                        "500001, 503001, or the HTTP status times 1000 for routing errors.")
    error_message: str
    detail: list[dict[str, Any]] = Field(default_factory=list, description="422001: {loc, msg, type} per field.")


class LivenessResponse(BaseModel):
    status: Literal["ok"]


class WorkerInfo(BaseModel):
    id: str
    engine: dict[str, Any]
    last_seen_at: str | None


class HealthResponse(BaseModel):
    status: Literal["ok"]
    accepting_requests: bool
    workers: list[WorkerInfo]
    engine: dict[str, Any] | None = Field(description="What a ready worker runs: weights, device, dtype, settings.")
    note: str | None


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
        subscription = {"url": job.webhook.url, "events": [f"request.{k}" for k in job.webhook.kinds]}
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
