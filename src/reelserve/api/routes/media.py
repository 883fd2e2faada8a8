"""Signed, expiring MP4 links to the data dir: no bearer token needed, Range requests supported
(players seek with them). Mounted only when videos are kept in the data dir."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from reelserve.storage import LocalMediaStorage


def router_for(storage: LocalMediaStorage) -> APIRouter:
    router = APIRouter()

    @router.api_route("/media/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def get_media(key: str, expires: str = "", signature: str = "") -> FileResponse:
        path = storage.signed_path(key, expires, signature)  # checked by the signer that made the link
        return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "private, max-age=3600"})

    return router
