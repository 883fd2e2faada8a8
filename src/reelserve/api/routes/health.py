"""GET /healthz for load balancers (no key, nothing about the deployment), and GET /v1/health with
the detail an operator or client needs: which workers are live and what engine and weights they run.

/healthz needs no key, so it says only whether this API process can accept work: worker ids carry
host names and PIDs, and device and weights describe the deployment, which is nobody else's business.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from reelserve.api.deps import KeyDep, ServicesDep
from reelserve.api.liveness import live_workers
from reelserve.api.wire import ErrorResponse, HealthResponse, LivenessResponse
from reelserve.wire import iso

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=LivenessResponse, operation_id="healthz",
            summary="Liveness for load balancers: 200 while the API can accept work, 503 when its database is down, "
            "read-only or out of disk",
            responses={503: {"model": ErrorResponse, "description": "503001: the queue database is unavailable, "
                             "read-only or out of disk"}})
def healthz(svc: ServicesDep) -> dict[str, Any]:
    live_workers(svc.store)  # proves the store answers
    svc.store.check_writable()  # and that a submit could be written (a 503 says why)
    return {"status": "ok"}


@router.get("/v1/health", response_model=HealthResponse, operation_id="get_health",
            summary="The live workers and the engine and weights they run",
            responses={401: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})
def health(svc: ServicesDep, key: KeyDep) -> dict[str, Any]:
    workers = live_workers(svc.store)
    engines = [w.engine for w in workers]
    ready = [e for e in engines if e.get("state") == "ready"]
    return {
        "status": "ok",
        "accepting_requests": True,
        "workers": [{"id": w.id, "engine": w.engine, "last_seen_at": iso(w.last_seen_at)} for w in workers],
        "engine": ready[0] if ready else (engines[0] if engines else None),
        "note": None if ready else "no worker is ready: requests are accepted and wait in the queue",
    }
