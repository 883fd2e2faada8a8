"""Where finished videos live and how clients are pointed at them."""

from __future__ import annotations

import abc
import re
from pathlib import Path

from reelserve.ids import REQUEST_ID_PATTERN, is_request_id

# <request id>/[<attempt>/]<file>: each attempt writes under its own prefix, so a worker that lost its
# lease can never overwrite the video another worker published for the same request.
KEY_PATTERN = re.compile(rf"{REQUEST_ID_PATTERN}(/[A-Za-z0-9_-]{{1,64}})?/[A-Za-z0-9_.-]{{1,64}}")


def is_valid_key(key: str) -> bool:
    """A key every storage accepts: the pattern above, and nothing that could climb out of its root."""
    return KEY_PATTERN.fullmatch(key) is not None and ".." not in key


def check_job_id(job_id: str) -> str:
    """`job_id`, if it can name a request's folder (or prefix) safely; ValueError otherwise."""
    if not is_request_id(job_id):
        raise ValueError(f"invalid request id {job_id!r}")
    return job_id


CONTENT_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg"}


def content_type(key: str) -> str:
    """What a stored object is, by its name: the videos and their posters."""
    return CONTENT_TYPES.get(Path(key).suffix, "application/octet-stream")


class ObjectTooLargeError(ValueError):
    """A stored object larger than its reader allows: refused before its bytes are held in memory."""

    def __init__(self, key: str, size: int, max_bytes: int) -> None:
        super().__init__(f"{key} holds {size} bytes, more than the {max_bytes} this read allows")
        self.key, self.size, self.max_bytes = key, size, max_bytes


def check_size(key: str, size: int, max_bytes: int) -> None:
    """Refuse an object whose size (as stored, or as read so far) is over `max_bytes`."""
    if size > max_bytes:
        raise ObjectTooLargeError(key, size, max_bytes)


def media_key(job_id: str, attempt: str | None = None, filename: str = "video.mp4") -> str:
    return f"{job_id}/{attempt}/{filename}" if attempt else f"{job_id}/{filename}"


def input_image_key(job_id: str, name: str) -> str:
    """Where an image given with a request is kept ("start_image": catalog.IMAGE_FIELDS): the API writes it
    at submit, every worker reads it, retention deletes it with the request's folder."""
    return media_key(job_id, filename=name)


class MediaStorage(abc.ABC):
    @abc.abstractmethod
    def put(self, key: str, source: Path) -> None:
        """Store `source` under `key`, all or nothing; raises if it could not be stored
        (`StorageUnavailableError` when the failure is transient and worth retrying)."""

    @abc.abstractmethod
    def read(self, key: str, *, max_bytes: int) -> bytes:
        """The bytes stored under `key` (a request's input images: api/images.py stores them, workers read them).
        FileNotFoundError when nothing is; ObjectTooLargeError, unread, when it holds more than `max_bytes`;
        `StorageUnavailableError` when the failure is transient and worth retrying."""

    @abc.abstractmethod
    def url_for(self, key: str) -> str:
        """An absolute URL a client can fetch without the API key, valid for a limited time."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete one object; deleting a missing one is not an error."""

    @abc.abstractmethod
    def delete_all(self, job_id: str) -> None:
        """Delete everything stored for a request, every attempt's upload included; idempotent."""
