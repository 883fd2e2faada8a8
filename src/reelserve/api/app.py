"""The FastAPI application: routers, the error table, the body limit, and OpenAPI with the model schemas."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from reelserve.api.deps import ApiConfig, Services
from reelserve.api.errors import install_error_handlers
from reelserve.api.limits import BodyLimitMiddleware
from reelserve.api.access import AccessMiddleware
from reelserve.api.routes import health, media, metrics, models, requests
from reelserve.catalog import RECIPES, input_model_for
from reelserve.storage import LocalMediaStorage, MediaStorage
from reelserve.store import JobStore

DESCRIPTION = (
    "Async text-to-video queue API, wire-compatible with the RunComfy Model API for Kling 3.0 "
    "text-to-video. Generation runs an open-weights model (LTX-2), not Kling."
)


def create_app(config: ApiConfig, store: JobStore, storage: MediaStorage) -> FastAPI:
    app = FastAPI(title="reelserve", version="0.1.0", description=DESCRIPTION, docs_url="/docs", redoc_url=None)
    app.state.services = Services(config=config, store=store, storage=storage)
    for module in (models, requests, health, metrics):
        app.include_router(module.router)
    if isinstance(storage, LocalMediaStorage):  # other storages hand out links that do not point here
        app.include_router(media.router_for(storage))
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    app.add_middleware(AccessMiddleware)  # added last: outermost, so it sees every answer and its time
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus each model's input schema, which the submit routes reference."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for recipe in RECIPES.values():
            model = input_model_for(recipe)
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        app.openapi_schema = schema
    return app.openapi_schema
