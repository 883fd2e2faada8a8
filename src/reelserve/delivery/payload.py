"""An event's body: `{"type", "timestamp", "data"}`, where data is the request's result body as GET
…/result returned it at the event, built when the attempt is made so output links are freshly signed."""

from __future__ import annotations

import dataclasses
import json

from reelserve.storage import MediaStorage
from reelserve.store import Job, JobStore, Status, WebhookEvent
from reelserve.webhooks import EventType
from reelserve.wire import iso, links_for, result_body

# The job's status as the event saw it. Terminal states never change again, so a terminal event's
# data is the job as it is now; a started event's is the job as it was when it started.
STATUS_OF = {EventType.STARTED: Status.IN_PROGRESS, EventType.COMPLETED: Status.COMPLETED,
             EventType.FAILED: Status.FAILED, EventType.CANCELLED: Status.CANCELLED}


class EventBodies:
    def __init__(self, store: JobStore, storage: MediaStorage) -> None:
        self._store, self._storage = store, storage

    def __call__(self, event: WebhookEvent) -> bytes:
        job = self._store.get(event.job_id)
        data = self._data(event, job) if job is not None else {
            # Purged by retention before this attempt (retention shorter than the retry window).
            "request_id": event.job_id, "status": STATUS_OF[event.type].value}
        envelope = {"type": event.type, "timestamp": iso(event.created_at), "data": data}
        return json.dumps(envelope, separators=(",", ":")).encode()

    def _data(self, event: WebhookEvent, job: Job) -> dict:
        if event.type is EventType.STARTED:
            job = dataclasses.replace(job, status=Status.IN_PROGRESS, finished_at=None, output_key=None,
                                      poster_key=None, error_code=None, error_message=None, metadata={})
        return result_body(job, links_for(self._storage, job))
