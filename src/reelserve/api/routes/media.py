"""Signed, expiring MP4 links: no bearer token needed, Range requests supported (players seek with them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from reelserve.api.deps import ServicesDep
from reelserve.errors import RequestNotFoundError
from reelserve.storage import LocalMediaStorage

router = APIRouter()


@router.api_route("/media/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
def get_media(key: str, svc: ServicesDep, expires: str = "", signature: str = "") -> FileResponse:
    if not isinstance(svc.storage, LocalMediaStorage):  # other storages hand out their own links
        raise RequestNotFoundError("This video no longer exists.")
    path = svc.storage.signed_path(key, expires, signature)
    return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "private, max-age=3600"})
