"""POST /v1/models/{model_id} (submit), GET /v1/models and GET /v1/models/{model_id}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from reelserve.api.body import IDEMPOTENCY_KEY, check_idempotency_key, read_input
from reelserve.api.deps import ApiConfig, KeyDep, ServicesDep
from reelserve.api.webhook_query import ALWAYS_SENT, webhook_from
from reelserve.api.wire import ErrorResponse, SubmitResponse
from reelserve.catalog import RECIPES, Recipe, input_model_for, recipe_for
from reelserve.errors import UnknownModelError
from reelserve.store import Job
from reelserve.wire import submit_body

router = APIRouter(tags=["models"])

# The seeds' output schema, as served with each model card.
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "output": {
            "type": "object",
            "properties": {
                "image": {"type": "string", "format": "uri", "description": "Single image URL"},
                "video": {"type": "string", "format": "uri", "description": "Single video URL"},
                "images": {"type": "array", "description": "Multiple image URLs", "items": {"type": "string", "format": "uri"}},
                "videos": {"type": "array", "description": "Multiple video URLs", "items": {"type": "string", "format": "uri"}},
            },
        }
    },
}

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 413, 422, 429, 503)
}

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Retry-safe submits: the same key and body within 24 h return the same request_id "
    "(1-255 visible ASCII characters; scoped to the API key).",
    # Documented, not enforced here: check_idempotency_key gives the error its 422001 shape.
    json_schema_extra={"pattern": IDEMPOTENCY_KEY.pattern},
)]


# Plain strings, checked by webhook_from, so that every refusal is one 422001 naming the parameter.
WebhookUrl = Annotated[str | None, Query(
    alias="webhook",
    description="Tell this URL (http or https, URL-encoded) when the request ends, with a signed POST "
    f"(Standard Webhooks; events {', '.join('request.' + k for k in ALWAYS_SENT)}). Public addresses only, "
    "unless the server allows private ones. See docs/http-api.md.",
)]
WebhookEvents = Annotated[str | None, Query(
    alias="webhook_events",
    description="Optional events to send as well, comma-separated: `started` (request.started). The "
    "endings are always sent.",
)]


def model_card(recipe: Recipe, config: ApiConfig) -> dict[str, Any]:
    return {
        "model_id": recipe.model_id,
        "title": recipe.title,
        "kind": recipe.kind,
        "tier": recipe.tier,
        # What is delivered, by aspect ratio: text-to-video's `aspect_ratio` picks one; image-to-video
        # takes the one nearest the start image's shape.
        "sizes": {ratio: {"width": width, "height": height} for ratio, (width, height) in recipe.sizes.items()},
        "engine": {"family": config.family, "checkpoint": config.checkpoint},
        "input_schema": input_model_for(recipe).model_json_schema(),
        "output_schema": OUTPUT_SCHEMA,
    }


def _unknown_model(model_id: str) -> UnknownModelError:
    known = ", ".join(RECIPES)
    return UnknownModelError(f"Unknown model id {model_id!r}: this server runs {known}.")


def _operation(recipe: Recipe) -> str:
    """`pro`, `standard`, `4k` for text-to-video (the seeds' two keep the names generated clients already
    use), `pro_image` ... for image-to-video: unique per recipe, and short enough for `get_model_<it>`
    to stay within the 30 characters test_openapi holds operation ids to (`recipe.slug` would not)."""
    return recipe.tier if recipe.kind == "text-to-video" else f"{recipe.tier}_image"


def _add_submit_route(recipe: Recipe) -> None:
    model = input_model_for(recipe)

    async def submit(request: Request, response: Response, key: KeyDep, svc: ServicesDep,
                     idempotency_key: IdempotencyKey = None, webhook: WebhookUrl = None,
                     webhook_events: WebhookEvents = None) -> dict[str, Any]:
        # Read the body by hand so auth is checked first and every body failure is one 422001 shape.
        idempotency_key = check_idempotency_key(idempotency_key)
        subscription = webhook_from(webhook, webhook_events, allow_private=svc.config.webhook_allow_private)
        body = await run_in_threadpool(read_input, model, await request.body())

        def admit(stored_input: dict[str, Any], job_id: str | None = None) -> tuple[Job, bool]:
            return svc.store.submit_request(key.id, recipe.model_id, stored_input, idempotency_key=idempotency_key,
                                            limits=svc.config.submit_limits, webhook=subscription, job_id=job_id)

        if recipe.takes_images:  # fetched once, checked and stored before the request is queued (api/images.py)
            job, replayed = await svc.images.submit(body, admit)
        else:
            job, replayed = await run_in_threadpool(admit, body.model_dump(mode="json"))
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return submit_body(svc.config.base_url, job)

    router.add_api_route(
        f"/v1/models/{recipe.model_id}",
        submit,
        methods=["POST"],
        response_model=SubmitResponse,
        responses=ERRORS,
        summary=f"Submit a {recipe.tier} {recipe.kind} request",
        name=f"submit_{recipe.slug}",
        operation_id=f"submit_{_operation(recipe)}",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
            }
        },
    )


def _add_card_route(recipe: Recipe) -> None:
    # GET on a submit path is the model's card, declared so the spec and the server agree: without
    # it the path fell through, undeclared, to GET /v1/models/{model_id}.
    def card(svc: ServicesDep) -> dict[str, Any]:
        return model_card(recipe, svc.config)

    router.add_api_route(f"/v1/models/{recipe.model_id}", card, methods=["GET"], name=f"get_model_{recipe.slug}",
                         operation_id=f"get_model_{_operation(recipe)}",
                         summary=f"The {recipe.tier} {recipe.kind} model's input and output JSON Schema")


for _recipe in RECIPES.values():
    _add_submit_route(_recipe)
    _add_card_route(_recipe)


@router.post("/v1/models/{model_id:path}", operation_id="submit_unknown_model", status_code=404,
             summary="Any other model id: 404 with error_code 400001, naming the ids this server runs",
             responses={401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}})
def submit_unknown(model_id: str, key: KeyDep) -> None:
    raise _unknown_model(model_id)


@router.get("/v1/models", operation_id="list_models", summary="List the model ids this server runs")
def list_models(svc: ServicesDep) -> dict[str, Any]:
    return {"models": [model_card(recipe, svc.config) for recipe in RECIPES.values()]}


@router.get("/v1/models/{model_id:path}", operation_id="get_model", summary="One model's input and output JSON Schema",
            responses={404: {"model": ErrorResponse}})
def get_model(model_id: str, svc: ServicesDep) -> dict[str, Any]:
    recipe = recipe_for(model_id)
    if recipe is None:
        raise _unknown_model(model_id)
    return model_card(recipe, svc.config)
