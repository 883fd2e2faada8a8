"""An image-to-video submit's images: fetched (or decoded from a data URI) once, checked, stored with the request.

The contract the worker reads (docs/http-api.md, "Input images", says the same to clients):

1. At submit, after the body validates, each image field present (catalog.IMAGE_FIELDS) is fetched or
   decoded, in a worker thread, and checked by reelserve.images (type by its bytes, size, dimensions,
   the address rules of every URL and redirect). Any refusal is a 422 naming the field; nothing is
   stored and no request is made.
2. The API chooses the request id, and stores each field's ORIGINAL bytes, as received, under
   `storage.input_image_key(request_id, IMAGE_FIELDS[field])` ("<id>/start_image", "<id>/end_image")
   before the request is queued, so a worker never claims a request whose images are missing. Retries
   and workers on other machines read these bytes; no URL is ever fetched twice. Retention deletes them
   with the request's videos (`MediaStorage.delete_all`).
3. The stored input keeps an http(s) URL as sent, and replaces a data URI by a short note
   ("data:image/png;base64,… (812345 bytes, sha256 <hex>, stored with the request)"), so the database and
   history never hold megabytes; the digest keeps an Idempotency-Key's "same body" exact. The worker
   validates the stored input with `input_model_for(recipe).model_validate(input, context={STORED: True})`,
   which skips the reference check the note would fail, reads the bytes by key, and decodes them with
   `reelserve.images.read_image`.
4. A submit refused after the images were stored (a limit, a reused Idempotency-Key, the database), or
   one that replays an earlier request, deletes what it stored. Only a process dying between storing
   and queueing leaves files behind, under an id no request has.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from reelserve.catalog import IMAGE_FIELDS
from reelserve.errors import InputImageError
from reelserve.images import ImageFetcher, input_image_bytes, is_data_uri, read_image
from reelserve.storage import MediaStorage, input_image_key
from reelserve.store import Job

# Image-to-video submits that may fetch, decode and store images at once in one API process; the rest
# wait their turn. Each holds at most two images of MAX_IMAGE_BYTES (50 MB) and decodes one at a time
# (at most MAX_PIXELS, 40 million), so hostile submits hold at most about 4 x 260 MB however many
# arrive, and a slow sender holds a slot for at most the fetch deadline (20 s) per image.
IMAGE_SLOTS = 4


@dataclass(frozen=True)
class TakenImage:
    field: str
    data: bytes  # as received: the file the URL served, or the data URI's decoded bytes
    stored_value: str  # what the stored input keeps in the field

    @property
    def key_name(self) -> str:
        return IMAGE_FIELDS[self.field]


Submit = Callable[[dict[str, Any], str], tuple[Job, bool]]  # (stored input, request id) -> (job, replayed)


class ImageIntake:
    """Takes an image-to-video submit's images, stores them, and queues the request; one per API process."""

    def __init__(self, storage: MediaStorage, fetcher: ImageFetcher, slots: int = IMAGE_SLOTS) -> None:
        self.storage = storage
        self.fetcher = fetcher
        self._slots = anyio.Semaphore(slots)

    async def submit(self, body: BaseModel, submit: Submit) -> tuple[Job, bool]:
        """Take the images `body` names, store them under a new request id, and `submit` the stored input
        with that id; InputImageError (422, naming the field) before anything is stored."""
        async with self._slots:
            images = [await run_in_threadpool(self.take, field, value) for field, value in _image_values(body)]
            request_id = str(uuid.uuid4())  # the store's own form of id, chosen here to name the files
            keys = await run_in_threadpool(self.store, request_id, images)
            try:
                job, replayed = await run_in_threadpool(submit, stored_input(body, images), request_id)
            except BaseException:
                await self._forget(keys)
                raise
            if replayed:  # the earlier request has its own images
                await self._forget(keys)
            return job, replayed

    async def _forget(self, keys: list[str]) -> None:
        with anyio.CancelScope(shield=True):  # even when this task is being cancelled: nothing left behind
            await run_in_threadpool(self.forget, keys)

    def take(self, field: str, value: str) -> TakenImage:
        """One field's image, fetched or decoded, and checked (blocking: run it in a worker thread)."""
        value = value.strip()
        try:
            data = input_image_bytes(value, self.fetcher)
            checked = read_image(data)  # decoded to be checked, then dropped: the worker decodes the stored bytes
        except InputImageError as exc:
            raise exc.at(field) from None
        if is_data_uri(value):
            media_type = f"image/{checked.source_format.value.lower()}"
            value = (f"data:{media_type};base64,\u2026 ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}, "
                     "stored with the request)")
        return TakenImage(field, data, value)

    def store(self, request_id: str, images: list[TakenImage]) -> list[str]:
        """Store each image's bytes under its key; all or none (blocking)."""
        keys: list[str] = []
        try:
            for image in images:
                key = input_image_key(request_id, image.key_name)
                with _temporary_file(image.data) as path:
                    self.storage.put(key, path)
                keys.append(key)
        except BaseException:
            self.forget(keys)
            raise
        return keys

    def forget(self, keys: list[str]) -> None:
        for key in keys:
            self.storage.delete(key)


def _image_values(body: BaseModel) -> Iterator[tuple[str, str]]:
    for field in IMAGE_FIELDS:
        value = getattr(body, field, None)
        if value is not None:
            yield field, value


def stored_input(body: BaseModel, images: list[TakenImage]) -> dict[str, Any]:
    """The input as stored: the validated body, each image field as its TakenImage says."""
    return {**body.model_dump(mode="json"), **{image.field: image.stored_value for image in images}}


@contextlib.contextmanager
def _temporary_file(data: bytes) -> Iterator[Path]:
    """`data` in a file of its own, for MediaStorage.put, removed afterwards."""
    handle, name = tempfile.mkstemp(prefix="reelserve-image-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        yield Path(name)
    finally:
        os.unlink(name)
