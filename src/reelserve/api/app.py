"""The FastAPI application: routers, the error table, the body limit, and OpenAPI with the model schemas."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from reelserve.api.changes import ChangeFeed
from reelserve.api.deps import ApiConfig, Services
from reelserve.api.docs import install_docs
from reelserve.api.errors import install_error_handlers
from reelserve.api.images import ImageIntake
from reelserve.api.keycache import KeyCache
from reelserve.api.middleware import AccessMiddleware, BodyLimitMiddleware
from reelserve.api.playground import install_playground
from reelserve.api.routes import events, health, history, media, metrics, models, requests, webhooks
from reelserve.catalog import RECIPES, input_model_for
from reelserve.images import ImageFetcher
from reelserve.storage import LocalMediaStorage, MediaStorage
from reelserve.store import JobStore

DESCRIPTION = (
    "Async text-to-video and image-to-video queue API, wire-compatible with the RunComfy Model API for "
    "Kling 3.0 (standard, pro and 4K). Generation runs an open-weights model (LTX-2), not Kling."
)


def create_app(config: ApiConfig, store: JobStore, storage: MediaStorage) -> FastAPI:
    app = FastAPI(title="reelserve", version="0.1.0", description=DESCRIPTION, docs_url=None, redoc_url=None)
    keys = KeyCache(store, ttl_seconds=config.key_cache_seconds)
    images = ImageIntake(storage, ImageFetcher(allow_private=config.media_allow_private,
                                                 deadline_seconds=config.media_fetch_seconds))
    app.state.services = Services(config=config, store=store, storage=storage, keys=keys, changes=ChangeFeed(store),
                                  images=images)
    for module in (models, requests, events, webhooks, history, health, metrics):
        app.include_router(module.router)
    if isinstance(storage, LocalMediaStorage):  # other storages hand out links that do not point here
        app.include_router(media.router_for(storage))
    install_docs(app)
    install_playground(app)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes, larger=_image_body_limits(config))
    app.add_middleware(AccessMiddleware)  # added last: outermost, so it sees every answer and its time
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _image_body_limits(config: ApiConfig) -> dict[str, int]:
    """The submit paths that take images inline (data URIs), with their larger body limit."""
    return {f"/v1/models/{recipe.model_id}": config.max_image_body_bytes
            for recipe in RECIPES.values() if recipe.takes_images}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus each model's input schema, which the submit routes reference, with the
    real error body where FastAPI would list its own HTTPValidationError (no route returns that)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                             tags=TAGS)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for recipe in RECIPES.values():
            model = input_model_for(recipe)
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        _real_error_bodies(schema)
        app.openapi_schema = schema
    return app.openapi_schema


TAGS = [
    {"name": "models", "description": "Submit a request; the models and their input schemas."},
    {"name": "requests", "description": "A submitted request's status, result and cancellation."},
    {"name": "webhooks", "description": "Signing secret and delivery log of webhooks (Standard Webhooks)."},
    {"name": "media", "description": "Result videos by signed link (local storage only; S3 links point at S3)."},
    {"name": "health", "description": "Liveness for load balancers; workers and engine for key holders."},
    {"name": "operations", "description": "Prometheus metrics (docs/operations.md)."},
]

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def _real_error_bodies(schema: dict[str, Any]) -> None:
    """Every 422 answers with ErrorResponse (422001, naming each field), never FastAPI's shape."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"] = {"description": "422001: invalid input, each offending field named in `detail`",
                                    "content": {"application/json": {"schema": ERROR_REF}}}
    for unused in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(unused, None)
