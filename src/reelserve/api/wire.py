"""Response bodies on the wire as pydantic models, for OpenAPI. `reelserve/wire.py` builds the bodies themselves,
below this layer, because webhook delivery sends the same result body."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

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
