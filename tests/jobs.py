"""Putting jobs straight into a store, as tests and benches need: the API's admission without HTTP."""

from __future__ import annotations

from typing import Any

from reelserve.store import Job, JobStore


def submit(store: JobStore, owner: str, model_id: str, input: dict[str, Any], **options: Any) -> Job:
    """`store.submit_request(...)`, keeping the job only: whether it was a replay is asked where it matters."""
    return store.submit_request(owner, model_id, input, **options)[0]
