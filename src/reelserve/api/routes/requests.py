"""GET status, GET result, POST cancel for one request. Another key's id answers exactly like an unknown one."""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import APIRouter

from reelserve.api.deps import KeyDep, ServicesDep
from reelserve.api.wire import CancelResponse, ErrorResponse, ResultResponse, StatusResponse
from reelserve.errors import RequestExpiredError, RequestNotFoundError
from reelserve.ids import is_request_id
from reelserve.store import Job
from reelserve.wire import cancel_body, links_for, result_body, status_body

router = APIRouter(prefix="/v1/requests/{request_id}", tags=["requests"], responses={401: {"model": ErrorResponse},
                                                                   404: {"model": ErrorResponse},
                                                                   503: {"model": ErrorResponse}})


def _found(job: Job | None, svc: ServicesDep, key: KeyDep, request_id: str) -> Job:
    if job is None:
        not_found(svc, key, request_id)
    return job


def not_found(svc: ServicesDep, key: KeyDep, request_id: str) -> NoReturn:
    # Only the owner learns that an id expired; to anyone else it is as unknown as any other.
    if is_request_id(request_id) and svc.store.was_expired(request_id, key.id):
        kept = _period(svc.config.retention_seconds)
        raise RequestExpiredError(f"Request {request_id} expired: finished requests and their videos are deleted "
                                  f"after {kept}. Submit it again to generate it anew.")
    raise RequestNotFoundError()


def _period(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def owned_job(svc: ServicesDep, key: KeyDep, request_id: str) -> Job:
    job = svc.store.get(request_id, owner=key.id) if is_request_id(request_id) else None
    return _found(job, svc, key, request_id)


@router.get("/status", operation_id="get_request_status", response_model=StatusResponse, response_model_exclude_none=True,
            summary="Current state of a request")
def get_status(request_id: str, key: KeyDep, svc: ServicesDep) -> dict[str, Any]:
    found = svc.store.get_with_position(request_id, key.id) if is_request_id(request_id) else None
    if found is None:
        not_found(svc, key, request_id)
    job, position = found
    return status_body(svc.config.base_url, job, position)


@router.get("/result", operation_id="get_request_result", response_model=ResultResponse, response_model_exclude_unset=True,
            summary="Outputs and metadata; the current state while unfinished")
def get_result(request_id: str, key: KeyDep, svc: ServicesDep) -> dict[str, Any]:
    job = owned_job(svc, key, request_id)
    return result_body(job, links_for(svc.storage, job))


@router.post("/cancel", operation_id="cancel_request", response_model=CancelResponse, summary="Cancel a queued request")
def cancel(request_id: str, key: KeyDep, svc: ServicesDep) -> dict[str, Any]:
    # store.cancel is scoped to the owner and returns None for anything not theirs: one lookup suffices.
    job = svc.store.cancel(request_id, key.id) if is_request_id(request_id) else None
    return cancel_body(_found(job, svc, key, request_id))
