"""GET /v1/webhooks/default/secret (the key's signing secret) and GET /v1/requests/{id}/webhooks (a
request's deliveries, attempt by attempt): what a receiver's owner needs to verify and to debug."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from reelserve.api.deps import KeyDep, ServicesDep
from reelserve.api.owned import OwnedJobDep
from reelserve.api.wire import ErrorResponse, WebhookLogResponse, WebhookSecretResponse
from reelserve.wire import webhook_log_body

router = APIRouter(tags=["webhooks"], responses={401: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})


@router.get("/v1/webhooks/default/secret", operation_id="get_webhook_secret", response_model=WebhookSecretResponse,
            summary="This API key's webhook signing secret")
def get_secret(key: KeyDep, svc: ServicesDep, response: Response) -> dict[str, Any]:
    # Replicate's path and shape. Made on first use; `reelserve keys rotate-webhook-secret` replaces it.
    response.headers["Cache-Control"] = "no-store"  # a credential: no browser or proxy keeps a copy
    return {"key": svc.store.webhook_secret(key.id)}


@router.get("/v1/requests/{request_id}/webhooks", operation_id="get_request_webhooks",
            response_model=WebhookLogResponse, responses={404: {"model": ErrorResponse}},
            summary="A request's webhook deliveries: each event, and each attempt's status code, latency or error")
def get_deliveries(job: OwnedJobDep, svc: ServicesDep) -> dict[str, Any]:
    return webhook_log_body(job, svc.store.webhook_deliveries(job.id))
