"""The Python SDK: `Client` / `AsyncClient` for reelserve and any RunComfy-compatible server, and `image_input`
for image-to-video's images."""

from __future__ import annotations

from reelserve.client._async import AsyncClient, AsyncRequestHandle
from reelserve.client._base import RetryPolicy
from reelserve.client._images import image_input
from reelserve.client._sync import Client, RequestHandle
from reelserve.client._wire import Cancelled, Completed, Failed, InProgress, Queued, RequestPage, Result, Status
from reelserve.client.errors import (
    APIError,
    AuthenticationError,
    ImageInputError,
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
    "Failed", "ImageInputError", "InProgress", "MissingApiKeyError", "NotFoundError", "PayloadTooLargeError", "Queued",
    "RateLimitedError", "ReelserveClientError", "RequestCancelledError", "RequestFailedError", "RequestHandle",
    "RequestPage", "RequestTimeoutError", "Result", "RetryPolicy", "ServerError", "Status", "TransportError",
    "ValidationError", "image_input",
]
