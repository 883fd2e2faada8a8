"""The outermost middleware: a request id, the security headers, one access-log line, the HTTP metrics.

uvicorn's own access log is off (cli/server.py): it writes the whole URL, and a media link's query
string is its signature, a credential that works for days without a key. This line has the path
only, the status, the time taken and the request id, which is also sent back as `X-Request-Id`
so that a client's report can be matched to the log. The path is the client's text, percent-decoded:
what is not printable in it (a newline from `%0a`, a terminal escape) is written as `\\x0a`, so a
request is always one line and cannot forge another.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelserve import metrics
from reelserve.api.errors import unexpected_error
from reelserve.api.logtext import printable

log = logging.getLogger("reelserve.access")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# A client's own id is kept when it is short and plain, so it cannot forge log lines.
CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# The JSON API needs nothing from a browser; pages that do (the docs) send their own policy.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# No page of ours has a reason to tell another site where it was; a URL that once held a secret
# (a media link's signature, a key a browser put in a query) must not travel in `Referer`.
REFERRER_POLICY = "no-referrer"


class AccessMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        rid = incoming if CLIENT_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500  # what the client gets if the app raises before answering
        started = False
        began = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = rid
                headers["X-Content-Type-Options"] = "nosniff"
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = API_CSP
                headers["Referrer-Policy"] = REFERRER_POLICY
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if started:
                raise  # the answer has begun: nothing else can be sent
            # Answered here, not by Starlette's outermost handler, so a 500 has the request id and headers.
            response = await unexpected_error(Request(scope), exc)
            await response(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - began
            route = _route_template(scope)
            log.info("%s %s %s %d %.1fms request_id=%s", printable(_client(scope)), printable(scope["method"]),
                     printable(scope["path"]), status, seconds * 1000, rid)
            metrics.observe_http(scope["method"], route, status, seconds)
            request_id.reset(token)


def _route_template(scope: Scope) -> str:
    """The matched route's template (`/v1/requests/{request_id}/status`): a bounded label, unlike the path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "-"
