"""GET /v1/requests: the API key's own requests, newest first, a page at a time (Replicate's and
OpenAI's list shape). The cursor is opaque to clients; it names the last request of the page, so
requests submitted while a client pages never shift or repeat what it sees."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query

from reelserve.api.deps import KeyDep, ServicesDep
from reelserve.api.wire import ErrorResponse, HistoryResponse
from reelserve.errors import InvalidInputError
from reelserve.wire import history_item, links_for

router = APIRouter(tags=["requests"])

CURSOR_PREFIX = "seq:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    seq = text.removeprefix(CURSOR_PREFIX)
    if not text.startswith(CURSOR_PREFIX) or not seq.isascii() or not seq.isdigit() or len(seq) > 18:
        raise InvalidInputError(
            "Invalid cursor: pass back the next_cursor of a previous page, or leave it out for the first page.",
            detail=[{"loc": ["query", "cursor"], "msg": "not a cursor this server made", "type": "cursor_invalid"}])
    return int(seq)


@router.get("/v1/requests", operation_id="list_requests", response_model=HistoryResponse,
            response_model_exclude_unset=True, summary="This API key's requests, newest first, cursor-paged",
            responses={401: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})
def list_requests(svc: ServicesDep, key: KeyDep,
                  limit: Annotated[int, Query(ge=1, le=100, description="Requests per page.")] = 20,
                  cursor: Annotated[str | None, Query(max_length=64,
                                                      description="next_cursor of the previous page.")] = None,
                  ) -> dict[str, Any]:
    page = svc.store.history(key.id, limit, decode_cursor(cursor) if cursor else None)
    return {"requests": [history_item(job, links_for(svc.storage, job)) for job in page.jobs],
            "next_cursor": encode_cursor(page.next_before) if page.next_before is not None else None}
