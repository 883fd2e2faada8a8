"""An image-to-video request's images, as every attempt reads them: the bytes the API stored with the request.

The API fetched (or decoded) each image once at submit, checked it, and stored its original bytes under
`input_image_key(request_id, IMAGE_FIELDS[field])` before queueing the request (api/images.py has the
contract). A worker on any machine, on any attempt, reads those bytes, never the URL, and decodes them with
the same checks (EXIF orientation applied again). An image that is gone (deleted from the bucket by hand, a
data dir restored without it) or no longer decodes fails the request with a message the user can act on; an
unreachable storage is an outage, not the request's fault, and propagates to be retried.
"""

from __future__ import annotations

from PIL.Image import Image

from reelserve.catalog import IMAGE_FIELDS
from reelserve.errors import InputImageError, StoredInputError
from reelserve.images import MAX_IMAGE_BYTES, read_image
from reelserve.storage import MediaStorage, ObjectTooLargeError, input_image_key


class StoredImages:
    """Opens one request's image fields from media storage; `open` is the spec's `OpenImage`."""

    def __init__(self, storage: MediaStorage, job_id: str) -> None:
        self._storage = storage
        self._job_id = job_id

    def open(self, field: str) -> Image:
        """The image stored for `field` ("start_image_url"), decoded upright and RGB; StoredInputError if it is
        missing or no longer passes the checks it passed at submit."""
        key = input_image_key(self._job_id, IMAGE_FIELDS[field])
        try:
            data = self._storage.read(key, max_bytes=MAX_IMAGE_BYTES)
        except FileNotFoundError:
            raise StoredInputError(f"The image of {field}, stored with this request when it was submitted, is no "
                                   "longer in the media storage; submit the request again.") from None
        except ObjectTooLargeError as exc:
            raise self._unusable(field, f"it holds {exc.size} bytes, more than {MAX_IMAGE_BYTES}") from exc
        try:
            return read_image(data).image
        except InputImageError as exc:
            raise self._unusable(field, exc.reason) from exc

    @staticmethod
    def _unusable(field: str, reason: str) -> StoredInputError:
        return StoredInputError(f"The image of {field} stored with this request can no longer be used ({reason}); "
                                "submit the request again.")
