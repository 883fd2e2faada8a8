"""Everything the sync and async clients share that is not I/O: configuration, URLs, retry rules,
how a wait ends. `Client` and `AsyncClient` add only the sending and the sleeping."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from reelserve.client import errors
from reelserve.client._wire import TERMINAL, Cancelled, Failed, Status, error_from_response, retry_after

REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# A followed event stream may be quiet for long stretches; reelserve pings every 15 s, so this much
# silence means the connection is gone (and the wait goes on by polling).
STREAM_IDLE_SECONDS = 45.0
OnUpdate = Callable[[Status], Any]


@dataclass(frozen=True)
class RetryPolicy:
    """Retries with exponential backoff and full jitter; a server's Retry-After wins when it sends one."""

    max_retries: int = 4
    base_delay: float = 0.5
    max_delay: float = 10.0

    def delay(self, attempt: int, hint: float | None = None) -> float:
        if hint is not None:
            return max(0.0, min(hint, 60.0))
        return random.uniform(0.0, min(self.max_delay, self.base_delay * 2**attempt))


class ClientBase:
    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float | httpx.Timeout = DEFAULT_TIMEOUT, retry: RetryPolicy | None = None) -> None:
        if base_url is None or api_key is None:
            from reelserve.client.settings import ClientSettings  # pydantic-settings loads only when needed

            settings = ClientSettings()
            base_url, api_key = base_url or settings.base_url, api_key or settings.api_key
        if not api_key:
            raise errors.MissingApiKeyError("no API key: pass api_key=... or set REELSERVE_API_KEY")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retry = retry or RetryPolicy()

    # --- requests ----------------------------------------------------------------------------

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def _submit_url(self, model_id: str) -> str:
        return f"{self.base_url}/v1/models/{model_id.strip('/')}"

    def _request_url(self, request_id: str, action: str) -> str:
        return f"{self.base_url}/v1/requests/{request_id}/{action}"

    @staticmethod
    def _checked_id(request_id: str) -> str:
        if not REQUEST_ID.match(request_id or ""):
            raise errors.ReelserveClientError(f"{request_id!r} is not a request id (letters, digits, _ and -)")
        return request_id

    @staticmethod
    def _submit_headers(idempotency_key: str | None) -> dict[str, str]:
        return {"Idempotency-Key": idempotency_key} if idempotency_key else {}

    @staticmethod
    def _submit_params(webhook: str | None, webhook_events: list[str] | None) -> dict[str, str]:
        """The query of a submit: the body stays the model's input, as RunComfy's is."""
        if webhook is None:
            if webhook_events:
                raise errors.ReelserveClientError("webhook_events needs a webhook URL")
            return {}
        return {"webhook": webhook} | ({"webhook_events": ",".join(webhook_events)} if webhook_events else {})

    @staticmethod
    def _is_event_stream(response: httpx.Response) -> bool:
        """Whether the server answered GET .../events with a stream; other RunComfy-compatible servers
        have no such endpoint (a 404), and then the wait polls instead."""
        return response.is_success and response.headers.get("content-type", "").startswith("text/event-stream")

    @staticmethod
    def _body(response: httpx.Response) -> dict[str, Any]:
        if not response.is_success:
            raise error_from_response(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise errors.APIError(response.status_code, "the server's answer is not JSON") from exc
        if not isinstance(body, dict):
            raise errors.APIError(response.status_code, "the server's answer is not a JSON object")
        return body

    # --- retries -----------------------------------------------------------------------------

    def _retry_delay(self, attempt: int, *, idempotent: bool, response: httpx.Response | None = None,
                     exc: Exception | None = None) -> float | None:
        """Seconds to wait before trying again, or None to stop. A request that may have reached the
        server is retried only if repeating it is harmless (GETs, cancel, a keyed submit)."""
        if attempt >= self.retry.max_retries:
            return None
        if exc is not None:
            never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            return self.retry.delay(attempt) if never_sent or idempotent else None
        assert response is not None
        if idempotent and (response.status_code == 429 or response.status_code >= 500):
            return self.retry.delay(attempt, retry_after(response))
        return None

    @staticmethod
    def _transport_error(exc: Exception, url: str) -> errors.TransportError:
        return errors.TransportError(f"could not reach {url}: {exc.__class__.__name__}: {exc}")


class Waiter:
    """One wait: calls on_update when the status changes, raises at the deadline or at a bad ending."""

    def __init__(self, request_id: str, timeout: float | None, on_update: OnUpdate | None) -> None:
        self.request_id = request_id
        self._started = time.monotonic()
        self._deadline = None if timeout is None else self._started + timeout
        self._on_update = on_update
        self.last: Status | None = None

    def seen(self, status: Status) -> bool:
        """Record a status; True when it is final and completed (failures raise here)."""
        if status != self.last and self._on_update is not None:
            self._on_update(status)
        self.last = status
        if isinstance(status, Failed):
            raise errors.RequestFailedError(self.request_id, status.code or "failed", status.message or "")
        if isinstance(status, Cancelled):
            raise errors.RequestCancelledError(self.request_id)
        return isinstance(status, TERMINAL)

    def stream_timeout(self) -> httpx.Timeout:
        """How long a followed event stream may be silent: until the deadline, or STREAM_IDLE_SECONDS."""
        left = STREAM_IDLE_SECONDS if self._deadline is None else max(0.01, self._deadline - time.monotonic())
        return httpx.Timeout(min(left, STREAM_IDLE_SECONDS), connect=10.0)

    def check_deadline(self) -> None:
        """RequestTimeoutError once the deadline has passed."""
        self.pause(0.0)

    def pause(self, poll_interval: float) -> float:
        """How long to sleep before the next poll; raises RequestTimeoutError past the deadline."""
        if self._deadline is None:
            return poll_interval
        left = self._deadline - time.monotonic()
        if left <= 0:
            waited = time.monotonic() - self._started
            raise errors.RequestTimeoutError(self.request_id, waited, self.last.state if self.last else None)
        return min(poll_interval, left)
