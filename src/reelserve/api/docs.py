"""/docs (Swagger UI) and /redoc (ReDoc), served from the package: they work with no internet.

FastAPI's defaults load both from a CDN, so on an offline machine the pages were blank. Both are
vendored in static/ with their licenses (static/README.md says from where and why: the PyPI
package `swagger-ui-bundle` ships Swagger UI 4, which cannot read OpenAPI 3.1). Each page is a
static shell whose scripts are files, so its policy forbids inline scripts; styles are allowed
inline because both UIs set them at run time.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "worker-src 'self' blob:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")

SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API docs</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - API reference</title><link rel="icon" href="data:,">
</head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/redoc/assets/redoc.standalone.js"></script></body></html>
"""


def install_docs(app: FastAPI) -> None:
    """Mount /docs and /redoc with their assets; the app must be built with docs_url and redoc_url None."""
    app.mount("/docs/assets", StaticFiles(directory=STATIC / "swagger-ui"), name="swagger-ui")
    app.mount("/redoc/assets", StaticFiles(directory=STATIC / "redoc"), name="redoc")
    headers = {"Content-Security-Policy": DOCS_CSP}

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE.format(title=app.title), headers=headers)

    @app.get("/docs/init.js", include_in_schema=False)
    def swagger_init() -> HTMLResponse:
        return HTMLResponse((STATIC / "docs" / "swagger-init.js").read_text(), media_type="text/javascript")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE.format(title=app.title), headers=headers)
