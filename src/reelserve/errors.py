"""The one exception tree of reelserve.

Each class's docstring is its default message. The API layer maps these to HTTP status codes and
RunComfy error codes in one table (`reelserve.api.errors`); nothing else decides a status code.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from typing import Any


class FailureCode(StrEnum):
    """Why a request failed: its result's `error.code`, and the `error_code` label of the outcome metric.

    The one table: exceptions carry one as `code`, the worker and the store write them, nothing spells them.
    """

    GENERATION_FAILED = "generation_failed"  # the engine could not make this video
    INVALID_INPUT = "invalid_input"  # the engine, or the stored input's schema, refused this input
    OUT_OF_MEMORY = "out_of_memory"  # the GPU ran out of memory for this input
    INTERNAL_ERROR = "internal_error"  # a bug, logged with its traceback; the client sees a generic message
    INTERRUPTED = "interrupted"  # the worker running it died MAX_ATTEMPTS times


class ReelserveError(Exception):
    """An unexpected internal error occurred."""

    retry_after: int | None = None  # seconds; sent as Retry-After when set

    def __init__(self, message: str | None = None, *, detail: list[dict[str, Any]] | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        self.detail = detail or []
        super().__init__(self.message)


# --- client errors: the caller can fix these --------------------------------------------------


class AuthenticationError(ReelserveError):
    """Missing or invalid API key: send `Authorization: Bearer <api key>` with a key from `reelserve keys create`."""


class UnknownModelError(ReelserveError):
    """Unknown model id: GET /v1/models lists the model ids this server runs."""


class RequestNotFoundError(ReelserveError):
    """Request not found: check the request_id (it may be mistyped, expired, or belong to another API key)."""


class RequestExpiredError(RequestNotFoundError):
    """Request expired: finished requests and their videos are deleted after the retention period."""


class InvalidInputError(ReelserveError):
    """Invalid input: fix the fields listed in `detail` and submit again."""


class IdempotencyKeyReusedError(InvalidInputError):
    """This Idempotency-Key was already used with a different body: use a new key for a new request."""


class InputImageError(InvalidInputError):
    """An input image could not be used: fix the field listed in `detail` and submit again."""

    def __init__(self, reason: str, code: str, *, field: str | None = None) -> None:
        # The image code knows why, not which request field held the image: the caller names it with `at`.
        self.reason, self.code, self.field = reason, code, field
        where = f" {field}" if field else ""
        detail = [{"loc": ["body", field], "msg": reason, "type": code}] if field else None
        super().__init__(f"Invalid input image{where}: {reason}.", detail=detail)

    def at(self, field: str) -> InputImageError:
        """This refusal, naming the request field the image came from (`start_image_url`), for the 422."""
        return InputImageError(self.reason, self.code, field=field)


class TooManyRequestsError(ReelserveError):
    """Too many requests for this API key: wait and retry (see Retry-After)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class PayloadTooLargeError(ReelserveError):
    """Request body too large: send a smaller JSON body."""


class MediaLinkError(ReelserveError):
    """This media link is invalid or has expired: fetch the request's result again for a fresh link."""


class RangeNotSatisfiableError(ReelserveError):
    """No byte of the requested Range lies within the file: ask for bytes below its size."""

    def __init__(self, size: int) -> None:
        super().__init__(f"Range not satisfiable: the file has {size} bytes; ask for a range that starts below {size}.")
        self.size = size


class UnavailableError(ReelserveError):
    """A service reelserve depends on is unavailable: retry in a moment.

    Transient by definition: a worker that meets one leaves its request for another attempt
    rather than failing it, and the API answers 503 with Retry-After.
    """

    retry_after = 1


class StoreBusyError(UnavailableError):
    """The queue database is busy: retry in a moment."""


class StoreUnavailableError(StoreBusyError):
    """The queue database cannot be reached right now: retry in a moment."""


class StoreFullError(StoreUnavailableError):
    """The queue database's disk is full: nothing can be written until space is freed. Retry later."""

    retry_after = 30


class StoreReadOnlyError(StoreUnavailableError):
    """The queue database cannot be written right now (its file or folder is read-only). Retry later."""

    retry_after = 30


class StorageUnavailableError(UnavailableError):
    """The media storage cannot be reached right now: retry in a moment."""


class DiskFullError(StorageUnavailableError):
    """The server's disk is full or read-only: the video could not be written. It will be tried again."""

    retry_after = 30


DISK_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


@contextmanager
def disk_faults() -> Iterator[None]:
    """Turn a write that found the disk full or read-only into a DiskFullError: the request is not at fault,
    and retrying once space is freed succeeds. Any other OSError passes through."""
    try:
        yield
    except OSError as exc:
        if exc.errno in DISK_FAULTS:
            raise DiskFullError() from exc
        raise


# --- state errors: raised by the store when a transition is not allowed ------------------------


class InvalidTransitionError(ReelserveError):
    """The request is not in a state that allows this change."""


class LeaseLostError(InvalidTransitionError):
    """This worker no longer holds the request's lease; its result is discarded."""


class WorkerStateError(ReelserveError):
    """The worker is not in a state that allows this (a programming error, not a request's fault)."""


# --- generation errors: a request could not be turned into a video -----------------------------


class GenerationError(ReelserveError):
    """The video could not be generated."""

    code = FailureCode.GENERATION_FAILED


class EngineInputError(GenerationError):
    """The engine rejected this input."""

    code = FailureCode.INVALID_INPUT


class StoredInputError(GenerationError):
    """This request's stored input does not pass its model's input schema."""

    code = FailureCode.INVALID_INPUT


class EngineOutOfMemoryError(GenerationError):
    """The GPU ran out of memory while generating this video; try a shorter duration."""

    code = FailureCode.OUT_OF_MEMORY


# --- configuration errors: the operator can fix these ------------------------------------------


class ConfigurationError(ReelserveError):
    """reelserve is misconfigured."""


class WeightsUnavailableError(ConfigurationError):
    """The model weights could not be loaded."""


# --- pydantic's errors in our words: the one place they are reworded -----------------------------


def field_problems(errors: Iterable[Mapping[str, Any]], *, prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """pydantic's `exc.errors()` as `{"loc", "msg", "type"}` entries in plain words, each `loc` after `prefix`
    (`("body",)` for a request body): "Value error, " dropped, "unknown field" and "required field is missing"
    for the two a user meets most."""
    return [{"loc": [*prefix, *error["loc"]], "msg": _plain(error), "type": error["type"]} for error in errors]


def problems_line(problems: Iterable[Mapping[str, Any]], *, joiner: str = ".") -> str:
    """`field.path: message; ...`, for a log line, a CLI's stderr or an error message."""
    return "; ".join(f"{joiner.join(map(str, p['loc']))}: {p['msg']}" for p in problems)


def _plain(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required field is missing"
    return str(error["msg"]).removeprefix("Value error, ")
