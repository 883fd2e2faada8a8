"""GET /: the playground, a page to write a prompt, watch it render and play the video.

Static files in static/playground, served from the package: no CDN, no build step. The page talks
to this same API with the key the user types (kept in the browser's sessionStorage, or its
localStorage when asked), so it has no powers of its own. Its policy allows scripts and styles
from this server only; images and videos may also come from a bucket's presigned links (S3).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

FOLDER = Path(__file__).parent / "static" / "playground"

PLAYGROUND_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; "
                  "media-src 'self' http: https:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                  "frame-ancestors 'none'")


def install_playground(app: FastAPI) -> None:
    app.mount("/playground/assets", StaticFiles(directory=FOLDER), name="playground")

    @app.get("/", include_in_schema=False)
    def playground() -> HTMLResponse:
        return HTMLResponse((FOLDER / "index.html").read_text(), headers={"Content-Security-Policy": PLAYGROUND_CSP})
