"""Signed, expiring MP4 links to the data dir: no bearer token needed, Range requests supported
(players seek with them). Mounted only when videos are kept in the data dir."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.types import Receive, Scope, Send

from reelserve.api.ranges import byte_ranges, range_header
from reelserve.storage import LocalMediaStorage


class _MediaFile(FileResponse):
    """A FileResponse that sees only the Range the route decided on (see api/ranges.py)."""

    def __init__(self, path: Path, ranges: list[tuple[int, int]] | None) -> None:
        super().__init__(path, media_type="video/mp4", headers={"Cache-Control": "private, max-age=3600"})
        self._range = range_header(ranges).encode() if ranges else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(name, value) for name, value in scope["headers"] if name != b"range"]
        if self._range is not None:
            headers.append((b"range", self._range))
        await super().__call__({**scope, "headers": headers}, receive, send)


def router_for(storage: LocalMediaStorage) -> APIRouter:
    router = APIRouter()

    @router.api_route("/media/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def get_media(key: str, request: Request, expires: str = "", signature: str = "") -> FileResponse:
        path = storage.signed_path(key, expires, signature)  # checked by the signer that made the link
        return _MediaFile(path, byte_ranges(request.headers.get("range"), path.stat().st_size))

    return router
