"""Signed, expiring MP4 links: no bearer token needed, Range requests supported (players seek with them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from reelserve.api.deps import ServicesDep
from reelserve.errors import MediaLinkError, RequestNotFoundError
from reelserve.storage import LocalMediaStorage

router = APIRouter()


@router.api_route("/media/{job_id}/{filename}", methods=["GET", "HEAD"], include_in_schema=False)
def get_media(job_id: str, filename: str, svc: ServicesDep, expires: str = "", signature: str = "") -> FileResponse:
    key = f"{job_id}/{filename}"
    if not svc.signer.verify(key, expires, signature):
        raise MediaLinkError()
    storage = svc.storage
    path = storage.path_for(key) if isinstance(storage, LocalMediaStorage) else None
    if path is None or not path.is_file():
        raise RequestNotFoundError("This video no longer exists.")
    return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "private, max-age=3600"})
