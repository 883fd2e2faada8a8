"""The wire format, parsed in one place: status bodies into small classes, error bodies into errors.

Tolerant of other RunComfy-compatible servers: optional fields may be missing, and the status
spellings of fal, Replicate and others (`succeeded`, `canceled`, `IN_QUEUE`, ...) are understood.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from reelserve.client import errors

_SPELLINGS = {
    "in_queue": "in_queue", "queued": "in_queue", "pending": "in_queue", "starting": "in_queue",
    "in_progress": "in_progress", "running": "in_progress", "processing": "in_progress",
    "completed": "completed", "succeeded": "completed", "success": "completed", "complete": "completed",
    "failed": "failed", "error": "failed", "failure": "failed",
    "cancelled": "cancelled", "canceled": "cancelled",
}


@dataclass(frozen=True)
class Queued:
    request_id: str
    position: int | None = None  # requests ahead of this one; 0 = next
    state = "in_queue"


@dataclass(frozen=True)
class InProgress:
    request_id: str
    progress: float | None = None  # 0-100
    state = "in_progress"


@dataclass(frozen=True)
class Completed:
    request_id: str
    state = "completed"


@dataclass(frozen=True)
class Failed:
    request_id: str
    code: str | None = None
    message: str | None = None
    state = "failed"


@dataclass(frozen=True)
class Cancelled:
    request_id: str
    state = "cancelled"


Status = Queued | InProgress | Completed | Failed | Cancelled
TERMINAL = (Completed, Failed, Cancelled)


@dataclass(frozen=True)
class Result:
    """A result body: the video's URL once completed, the error once failed, metadata as the server gave it."""

    request_id: str
    status: str
    model_id: str | None = None
    video_url: str | None = None
    poster_url: str | None = None  # reelserve extension: a JPEG of one frame
    error: Failed | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    input: dict[str, Any] | None = None  # in history pages: the validated input
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class RequestPage:
    """One page of `Client.list_requests`: the key's requests, newest first, and the next page's cursor."""

    requests: list[Result]
    next_cursor: str | None


def normalize_state(value: Any) -> str:
    state = _SPELLINGS.get(str(value or "").strip().lower())
    if state is None:
        raise errors.ReelserveClientError(f"the server sent an unknown status {value!r}")
    return state


def parse_status(body: dict[str, Any], request_id: str) -> Status:
    rid = str(body.get("request_id") or request_id)
    state = normalize_state(body.get("status"))
    if state == "in_queue":
        return Queued(rid, _int(body.get("queue_position")))
    if state == "in_progress":
        return InProgress(rid, _float(body.get("progress")))
    if state == "failed":
        error = body.get("error") or {}
        return Failed(rid, error.get("code"), error.get("message"))
    return Completed(rid) if state == "completed" else Cancelled(rid)


def parse_result(body: dict[str, Any], request_id: str) -> Result:
    rid = str(body.get("request_id") or request_id)
    state = normalize_state(body.get("status"))
    output = body.get("output") if isinstance(body.get("output"), dict) else {}
    video = output.get("video")
    if isinstance(video, dict):  # fal-style {"video": {"url": ...}}
        video = video.get("url")
    poster = output.get("poster")
    error = body.get("error") or {}
    return Result(
        request_id=rid, status=state, model_id=body.get("model_id"),
        video_url=video if isinstance(video, str) else None, poster_url=poster if isinstance(poster, str) else None,
        error=Failed(rid, error.get("code"), error.get("message")) if state == "failed" else None,
        metadata=body.get("metadata") or {}, created_at=body.get("created_at"),
        started_at=body.get("started_at"), finished_at=body.get("finished_at"),
        input=body.get("input") if isinstance(body.get("input"), dict) else None, raw=body,
    )


def parse_page(body: dict[str, Any]) -> RequestPage:
    items = body.get("requests") if isinstance(body.get("requests"), list) else []
    cursor = body.get("next_cursor")
    return RequestPage([parse_result(item, "") for item in items if isinstance(item, dict)],
                       cursor if isinstance(cursor, str) and cursor else None)


def error_from_response(response: httpx.Response) -> errors.APIError:
    try:
        body = response.json()
    except ValueError:
        body = None
    info = body if isinstance(body, dict) else {}
    message = str(info.get("error_message") or info.get("message") or response.text[:500] or response.reason_phrase)
    detail = info.get("detail") if isinstance(info.get("detail"), list) else None
    kwargs: dict[str, Any] = {"error_code": _int(info.get("error_code")), "detail": detail, "body": body}
    status = response.status_code
    if status == 429:
        return errors.RateLimitedError(status, message, retry_after=retry_after(response), **kwargs)
    cls = {401: errors.AuthenticationError, 403: errors.AuthenticationError, 404: errors.NotFoundError,
           413: errors.PayloadTooLargeError, 422: errors.ValidationError}.get(status)
    if cls is None:
        cls = errors.ServerError if status >= 500 else errors.APIError
    return cls(status, message, **kwargs)


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (HTTP dates are rare from APIs and are ignored)."""
    return _float(response.headers.get("retry-after"))


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
