"""The ASGI middleware around the app, one file each (starlette's `middleware/` shape).

    access.py      outermost: request id, security headers, one access-log line, the HTTP metrics
    body_limit.py  the request body's size, counted while it is read
"""

from __future__ import annotations

from reelserve.api.middleware.access import AccessMiddleware
from reelserve.api.middleware.body_limit import BodyLimitMiddleware

__all__ = ["AccessMiddleware", "BodyLimitMiddleware"]
