"""GET status, GET result, POST cancel for one request. Another key's id answers exactly like an unknown one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from reelserve.api.deps import KeyDep, ServicesDep
from reelserve.api.owned import OwnedJobAndPositionDep, OwnedJobDep, missing
from reelserve.api.wire import CancelResponse, ErrorResponse, ResultResponse, StatusResponse
from reelserve.wire import cancel_body, links_for, result_body, status_body

router = APIRouter(prefix="/v1/requests/{request_id}", tags=["requests"], responses={401: {"model": ErrorResponse},
                                                                   404: {"model": ErrorResponse},
                                                                   503: {"model": ErrorResponse}})


@router.get("/status", operation_id="get_request_status", response_model=StatusResponse, response_model_exclude_none=True,
            summary="Current state of a request")
def get_status(found: OwnedJobAndPositionDep, svc: ServicesDep) -> dict[str, Any]:
    job, position = found
    return status_body(svc.config.base_url, job, position)


@router.get("/result", operation_id="get_request_result", response_model=ResultResponse, response_model_exclude_unset=True,
            summary="Outputs and metadata; the current state while unfinished")
def get_result(job: OwnedJobDep, svc: ServicesDep) -> dict[str, Any]:
    return result_body(job, links_for(svc.storage, job))


@router.post("/cancel", operation_id="cancel_request", response_model=CancelResponse, summary="Cancel a queued request")
def cancel(job: OwnedJobDep, key: KeyDep, svc: ServicesDep) -> dict[str, Any]:
    # A conditional write, scoped to the owner: None only when retention purged the job since the lookup.
    cancelled = svc.store.cancel(job.id, key.id)
    return cancel_body(cancelled if cancelled is not None else missing(job.id, key, svc))
