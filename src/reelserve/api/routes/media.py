"""Signed, expiring MP4 links to the data dir: no bearer token needed, Range requests supported
(players seek with them). Mounted only when videos are kept in the data dir."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.types import Receive, Scope, Send

from reelserve.api.ranges import byte_ranges, range_header
from reelserve.api.wire import ErrorResponse
from reelserve.storage import LocalMediaStorage, content_type


class _MediaFile(FileResponse):
    """A FileResponse that sees only the Range the route decided on (see api/ranges.py)."""

    def __init__(self, path: Path, ranges: list[tuple[int, int]] | None) -> None:
        super().__init__(path, media_type=content_type(path.name), headers={"Cache-Control": "private, max-age=3600"})
        self._range = range_header(ranges).encode() if ranges else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(name, value) for name, value in scope["headers"] if name != b"range"]
        if self._range is not None:
            headers.append((b"range", self._range))
        await super().__call__({**scope, "headers": headers}, receive, send)


MEDIA_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The MP4 (output.video) or its poster JPEG (output.poster)",
          "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}},
                      "image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
    206: {"description": "The requested byte ranges (RFC 9110)",
          "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}},
                      "multipart/byteranges": {"schema": {"type": "string", "format": "binary"}}}},
    403: {"model": ErrorResponse, "description": "403001: the link is invalid or has expired"},
    404: {"model": ErrorResponse, "description": "404001: the video no longer exists"},
    416: {"model": ErrorResponse, "description": "416001: no requested range lies within the file"},
}


def router_for(storage: LocalMediaStorage) -> APIRouter:
    router = APIRouter(tags=["media"])

    def get_media(key: str, request: Request,
                  expires: Annotated[str, Query(description="Unix time the link stops working; part of the signed link.")] = "",
                  signature: Annotated[str, Query(description="HMAC of key and expires; part of the signed link.")] = "",
                  ) -> FileResponse:
        path = storage.signed_path(key, expires, signature)  # checked by the signer that made the link
        return _MediaFile(path, byte_ranges(request.headers.get("range"), path.stat().st_size))

    summary = "A result's MP4 or poster by its signed link (output.video, output.poster): no key needed, Range supported"
    router.add_api_route("/media/{key:path}", get_media, methods=["GET"], operation_id="get_media",
                         response_class=FileResponse, responses=MEDIA_RESPONSES, summary=summary)
    router.add_api_route("/media/{key:path}", get_media, methods=["HEAD"], include_in_schema=False)
    return router
