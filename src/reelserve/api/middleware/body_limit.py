"""The body size limit, enforced while the body is read, so chunked bodies without a length are caught too.

One limit for every path but those named in `larger`: the image-to-video submits, whose bodies may carry
images inline as data URIs. Judged by the path before routing, so a body is never read past its limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelserve.errors import PayloadTooLargeError


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})  # path -> its own limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        advice = " (send large images by URL rather than inline)" if scope["path"] in self.larger else ""
        too_large = PayloadTooLargeError(f"Request body too large: send at most {max_bytes} bytes of JSON{advice}.")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            # Refuse before reading a byte; the handler turns this into 413001.
            receive = _refusing(too_large)
        else:
            receive = _counting(receive, max_bytes, too_large)
        await self.app(scope, receive, send)


def _refusing(error: PayloadTooLargeError) -> Receive:
    async def receive() -> Message:
        raise error

    return receive


def _counting(receive: Receive, max_bytes: int, error: PayloadTooLargeError) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise error
        return message

    return counted
