"""The caller's own request, by the `{request_id}` in the path: the dependency every route that reads one takes.

Another key's id answers exactly like an unknown one (404001), so ids cannot be probed; only the owner
learns that an id of theirs expired, which is still 404 but says so and for how long requests are kept.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

from fastapi import Depends

from reelserve.api.deps import KeyDep, Services, ServicesDep
from reelserve.errors import RequestExpiredError, RequestNotFoundError
from reelserve.ids import is_request_id
from reelserve.store import ApiKey, Job


def owned_job(request_id: str, key: KeyDep, svc: ServicesDep) -> Job:
    """The caller's request `request_id`; RequestNotFoundError (or RequestExpiredError) when there is none."""
    job = svc.store.get(request_id, owner=key.id) if is_request_id(request_id) else None
    return job if job is not None else missing(request_id, key, svc)


def owned_job_and_position(request_id: str, key: KeyDep, svc: ServicesDep) -> tuple[Job, int | None]:
    """What a status poll needs, in one query: the caller's request and, while queued, how many are ahead."""
    found = svc.store.get_with_position(request_id, key.id) if is_request_id(request_id) else None
    return found if found is not None else missing(request_id, key, svc)


OwnedJobDep = Annotated[Job, Depends(owned_job)]
OwnedJobAndPositionDep = Annotated[tuple[Job, int | None], Depends(owned_job_and_position)]


def missing(request_id: str, key: ApiKey, svc: Services) -> NoReturn:
    """Raise for a request the caller does not have: found gone after the lookup, too (a cancel, a stream)."""
    if is_request_id(request_id) and svc.store.was_expired(request_id, key.id):
        kept = _period(svc.config.retention_seconds)
        raise RequestExpiredError(f"Request {request_id} expired: finished requests and their videos are deleted "
                                  f"after {kept}. Submit it again to generate it anew.")
    raise RequestNotFoundError()


def _period(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
