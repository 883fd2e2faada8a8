"""GET /v1/requests/{id}/events: a request's status as server-sent events, until it ends.

`event: status` carries the body GET .../status would return, sent whenever it changes (progress
at most about once a second); `event: result` carries the body GET .../result returns once the
request has ended, and the stream closes after it. The stream waits on the store's change news
(api/changes.py) rather than reading the database on a timer; it re-reads every `RESYNC_SECONDS`
all the same, so a lost notification delays an event, never loses it. Comment pings keep idle
proxies from closing a long wait. When the server shuts down, each stream ends cleanly (its
client then polls, or reconnects to another replica) rather than being cut mid-response.

The key is checked again at every wake, before anything is sent: a stream opened before its key
was revoked ends, with no further event (a result would carry freshly signed links), within the
key cache's TTL of a change, or within `RESYNC_SECONDS` when nothing changes. Its client then
polls and gets the 401 any other call gets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from reelserve.api.deps import KeyDep, Services, ServicesDep, bearer
from reelserve.api.owned import OwnedJobDep
from reelserve.api.wire import ErrorResponse
from reelserve.store import ApiKey, Job, Status
from reelserve.wire import links_for, result_body, status_body

RESYNC_SECONDS = 15.0
PROGRESS_EVERY_SECONDS = 1.0
PING_SECONDS = 15
SHUTDOWN_GRACE_SECONDS = 1.0  # for a stream to end itself once the server stops

router = APIRouter(tags=["requests"])


@router.get("/v1/requests/{request_id}/events", operation_id="stream_request_events",
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`status` events while it runs, then one `result` event"},
                       401: {"model": ErrorResponse}, 404: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
            summary="Follow a request: its status as server-sent events, then its result")
async def stream_events(job: OwnedJobDep, key: KeyDep, svc: ServicesDep,
                        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                        ) -> EventSourceResponse:
    # Async, unlike most routes: anyio makes its shutdown event only on the event loop. OwnedJobDep looked
    # the id up before the stream starts, so a foreign or unknown id gets the same JSON 404 as GET status.
    # The same bearer value KeyDep accepted (FastAPI resolves `bearer` once per request): kept to ask again.
    caller = _Caller(key, credentials.credentials.strip() if credentials else "")
    stopping = anyio.Event()  # set by sse-starlette when the server shuts down
    return EventSourceResponse(_events(job.id, caller, svc, stopping), ping=PING_SECONDS, shutdown_event=stopping,
                               shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
                               headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@dataclass(frozen=True)
class _Caller:
    """Who opened the stream: the key, and its plaintext to check it again while the stream lasts."""

    key: ApiKey
    plaintext: str = field(repr=False)


async def _events(request_id: str, caller: _Caller, svc: Services,
                  stopping: anyio.Event) -> AsyncIterator[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    with svc.changes.watch(request_id) as changed:
        last: dict[str, Any] | None = None
        sent_at = float("-inf")
        number = 0
        while not stopping.is_set():
            changed.clear()  # before reading: a change that lands during the read is kept
            found = await run_in_threadpool(_read, svc, request_id, caller)
            if found is None:
                return  # the key was revoked, or the request deleted by retention, while followed
            job, position = found
            number += 1
            if job.status.is_terminal:
                body = result_body(job, links_for(svc.storage, job))
                yield {"event": "result", "id": str(number), "data": json.dumps(body, separators=(",", ":"))}
                return
            body = status_body(svc.config.base_url, job, position)
            wait = RESYNC_SECONDS
            if body != last:
                too_soon = PROGRESS_EVERY_SECONDS - (loop.time() - sent_at)
                if _progress_only(last, body) and too_soon > 0:
                    wait = too_soon  # send the newest progress once the second is up
                else:
                    yield {"event": "status", "id": str(number), "data": json.dumps(body, separators=(",", ":"))}
                    last, sent_at = body, loop.time()
            await _first(changed, stopping, timeout=wait)


def _read(svc: Services, request_id: str, caller: _Caller) -> tuple[Job, int | None] | None:
    """The job and its queue position, or None when nothing more may be sent: the key is revoked
    (asked of the key cache, so at most one lookup per key per TTL whatever the streams), or the job gone."""
    if not svc.keys.still_active(caller.plaintext, caller.key.id):
        return None
    return svc.store.get_with_position(request_id, caller.key.id)


async def _first(*events: asyncio.Event | anyio.Event, timeout: float) -> None:
    """Wait until any of `events` is set, or `timeout` seconds."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def _progress_only(last: dict[str, Any] | None, body: dict[str, Any]) -> bool:
    return last is not None and last["status"] == body["status"] == Status.IN_PROGRESS.value
