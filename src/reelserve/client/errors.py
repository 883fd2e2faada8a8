"""What the SDK raises: one tree, so `except ReelserveClientError` catches everything it can raise.

API errors keep everything the server said (HTTP status, `error_code`, message, field details), so
nothing is lost between the server and the user. Errors about a request that exists carry its id.
"""

from __future__ import annotations

from typing import Any


class ReelserveClientError(Exception):
    """Base of every SDK error."""


class MissingApiKeyError(ReelserveClientError):
    """No API key was given (argument or REELSERVE_API_KEY), so no request was sent."""


class ImageInputError(ReelserveClientError, ValueError):
    """A local image cannot be sent (missing, not a JPEG, PNG or WebP, or too large to go inline); nothing was sent."""


class TransportError(ReelserveClientError):
    """The server could not be reached, or the connection broke (after the retries allowed)."""


class APIError(ReelserveClientError):
    """The server answered with an error."""

    def __init__(self, status_code: int, message: str, *, error_code: int | None = None,
                 detail: list[Any] | None = None, body: Any = None) -> None:
        super().__init__(f"HTTP {status_code}" + (f" ({error_code})" if error_code else "") + f": {message}")
        self.status_code = status_code
        self.error_code = error_code
        self.message = message
        self.detail = detail or []
        self.body = body


class AuthenticationError(APIError):
    """The API key is missing, malformed, unknown or revoked (401)."""


class NotFoundError(APIError):
    """Unknown model id, or a request id this key cannot see (404)."""


class ValidationError(APIError):
    """The input was rejected (422); `detail` lists each field (`loc`) and what is wrong (`msg`)."""

    def __str__(self) -> str:
        fields = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:]) or 'body'}: {d.get('msg')}"
                           for d in self.detail if isinstance(d, dict))
        return super().__str__() + (f" [{fields}]" if fields and fields not in self.message else "")


class PayloadTooLargeError(APIError):
    """The request body was larger than the server accepts (413)."""


class RateLimitedError(APIError):
    """Too many requests (429); `retry_after` is the server's advice in seconds, when it gave one."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """The server failed (5xx) and kept failing through the retries allowed."""


class RequestFailedError(ReelserveClientError):
    """The request ran and failed; `code` is the server's (invalid_input, out_of_memory, ...)."""

    def __init__(self, request_id: str, code: str, message: str) -> None:
        super().__init__(f"request {request_id} failed ({code}): {message}")
        self.request_id, self.code, self.message = request_id, code, message


class RequestCancelledError(ReelserveClientError):
    """The request was cancelled before it ran."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"request {request_id} was cancelled")
        self.request_id = request_id


class RequestTimeoutError(ReelserveClientError, TimeoutError):
    """Waiting ran out of time. The request is not lost: it may still run. Resume with
    `client.handle(err.request_id)`."""

    def __init__(self, request_id: str, waited: float, last_status: str | None) -> None:
        super().__init__(f"gave up waiting for request {request_id} after {waited:.0f} s (last status: "
                         f"{last_status}); it may still finish: resume with client.handle({request_id!r})")
        self.request_id, self.waited, self.last_status = request_id, waited, last_status
