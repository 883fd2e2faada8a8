"""The Python SDK: `Client` / `AsyncClient` for reelserve and any RunComfy-compatible server."""

from __future__ import annotations

from reelserve.client._async import AsyncClient, AsyncRequestHandle
from reelserve.client._base import RetryPolicy
from reelserve.client._sync import Client, RequestHandle
from reelserve.client._wire import Cancelled, Completed, Failed, InProgress, Queued, RequestPage, Result, Status
from reelserve.client.errors import (
    APIError,
    AuthenticationError,
    MissingApiKeyError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ReelserveClientError,
    RequestCancelledError,
    RequestFailedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = [
    "APIError", "AsyncClient", "AsyncRequestHandle", "AuthenticationError", "Cancelled", "Client", "Completed",
    "Failed", "InProgress", "MissingApiKeyError", "NotFoundError", "PayloadTooLargeError", "Queued", "RateLimitedError",
    "ReelserveClientError", "RequestCancelledError", "RequestFailedError", "RequestHandle", "RequestPage", "RequestTimeoutError",
    "Result", "RetryPolicy", "ServerError", "Status", "TransportError", "ValidationError",
]
