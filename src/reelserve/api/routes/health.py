"""GET /healthz: 200 once the API can accept work; says which engine and weights the workers run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from reelserve.api.deps import ServicesDep
from reelserve.api.wire import iso

router = APIRouter()

LIVE_WITHIN_SECONDS = 30.0


@router.get("/healthz", summary="Liveness, plus the engines the live workers run")
def healthz(svc: ServicesDep) -> dict[str, Any]:
    workers = svc.store.live_workers(LIVE_WITHIN_SECONDS)  # also proves the store answers
    engines = [w.engine for w in workers]
    ready = [e for e in engines if e.get("state") == "ready"]
    return {
        "status": "ok",
        "accepting_requests": True,
        "workers": [{"id": w.id, "engine": w.engine, "last_seen_at": iso(w.last_seen_at)} for w in workers],
        "engine": ready[0] if ready else (engines[0] if engines else None),
        "note": None if ready else "no worker is ready: requests are accepted and wait in the queue",
    }
