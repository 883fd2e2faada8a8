"""The one table from exceptions to (HTTP status, RunComfy error_code), and the handlers that use it.

Error body: {"error_code": int, "error_message": str, "detail": [...]}. A 500 never carries a trace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from reelserve import errors
from reelserve.api.logtext import printable

log = logging.getLogger(__name__)

# Most specific first: the first matching class wins.
ERROR_TABLE: list[tuple[type[errors.ReelserveError], int, int]] = [
    (errors.AuthenticationError, 401, 401001),
    (errors.UnknownModelError, 404, 400001),
    (errors.RequestNotFoundError, 404, 404001),
    (errors.IdempotencyKeyReusedError, 422, 422002),
    (errors.InvalidInputError, 422, 422001),
    (errors.TooManyRequestsError, 429, 429001),
    (errors.PayloadTooLargeError, 413, 413001),
    (errors.MediaLinkError, 403, 403001),
    (errors.RangeNotSatisfiableError, 416, 416001),
    (errors.UnavailableError, 503, 503001),
    (errors.ReelserveError, 500, 500001),
]


def error_body(code: int, message: str, detail: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error_code": code, "error_message": message, "detail": detail or []}


def status_and_code(exc: errors.ReelserveError) -> tuple[int, int]:
    for cls, status, code in ERROR_TABLE:
        if isinstance(exc, cls):
            return status, code
    raise AssertionError("ReelserveError is the table's last row")


async def _reelserve_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ReelserveError)
    status, code = status_and_code(exc)
    if status == 500:
        log.error("internal error on %s %s: %s", printable(request.method), printable(request.url.path), exc,
                  exc_info=exc)
        message = errors.ReelserveError.__doc__.strip()  # type: ignore[union-attr]
        return JSONResponse(error_body(code, message), status_code=status)
    return JSONResponse(error_body(code, exc.message, exc.detail), status_code=status, headers=_headers(status, exc))


def _headers(status: int, exc: errors.ReelserveError) -> dict[str, str] | None:
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, errors.RangeNotSatisfiableError):
        return {"Content-Range": f"bytes */{exc.size}"}
    if exc.retry_after is not None:
        return {"Retry-After": str(exc.retry_after)}
    return None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    # Routing errors (no such path, wrong method) keep the same body shape; code = status * 1000.
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    message = {404: "No such endpoint; see GET /openapi.json."}.get(exc.status_code, str(exc.detail))
    if exc.status_code == 405:
        allowed = _allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        message = f"Method {request.method} not allowed on this endpoint; it takes {', '.join(allowed)}."
    return JSONResponse(error_body(exc.status_code * 1000, message), status_code=exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path: Starlette's Allow names only the first route's."""
    methods: set[str] = set()
    for route in _leaf_routes(request.app.router.routes):
        match, _ = route.matches({**request.scope, "method": "\0"})  # no route takes it: a path-only match
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _leaf_routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    # FastAPI keeps an included router as one entry holding its routes (`original_router`); ours are
    # included without a prefix, so their own paths are the full paths.
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _leaf_routes(inner.routes)
        else:
            yield route


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own checks of path, query and header parameters, in the one error shape (422001);
    # the bodies of the submit routes are checked by api/body.py.
    assert isinstance(exc, RequestValidationError)
    detail = errors.field_problems(exc.errors()[:20])
    summary = errors.problems_line(detail, joiner=" ")  # "query limit: ...": where, then which
    return JSONResponse(error_body(422001, f"Invalid request: {summary}. Fix it and send it again.", detail),
                        status_code=422)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A 500001 with no trace in the body; the traceback goes to the log. api/middleware/access.py answers
    with it, so that a 500 carries the request id and security headers like any other answer."""
    log.exception("unhandled error on %s %s", printable(request.method), printable(request.url.path), exc_info=exc)
    return JSONResponse(error_body(500001, errors.ReelserveError.__doc__.strip()), status_code=500)  # type: ignore[union-attr]


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.ReelserveError, _reelserve_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, unexpected_error)  # for anything raised outside AccessMiddleware
