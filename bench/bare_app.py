"""The ceiling for bench/api.py: the same two routes on the same server stack, doing no work at all.

`python bench/bare_app.py PORT` serves FastAPI under uvicorn exactly as `reelserve serve` does
(one process, log level info), answering bodies of the same shape as reelserve's without auth,
validation or a database.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/v1/requests/{request_id}/status")
def status(request_id: str) -> dict[str, Any]:
    return {"request_id": request_id, "status": "in_queue", "queue_position": 0, "created_at": "2026-01-01T00:00:00Z",
            "status_url": f"http://127.0.0.1/v1/requests/{request_id}/status"}


@app.post("/v1/models/{model_id:path}")
async def submit(model_id: str, request: Request) -> dict[str, Any]:
    await request.json()
    request_id = str(uuid.uuid4())
    return {"request_id": request_id, "status_url": f"http://127.0.0.1/v1/requests/{request_id}/status"}


if __name__ == "__main__":
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")).run()
