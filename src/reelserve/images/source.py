"""What a request's image field holds (an http(s) URL or a data URI) -> a checked InputImage.

Blocking (a fetch, then decoding): the API calls it in a worker thread, off its event loop.
"""

from __future__ import annotations

from reelserve.images.datauri import data_uri_bytes, is_data_uri
from reelserve.images.fetch import ImageFetcher
from reelserve.images.still import InputImage, read_image


def input_image_bytes(value: str, fetcher: ImageFetcher) -> bytes:
    """The bytes `value` names (fetched) or carries (a data URI), as they came; not yet checked as an image."""
    value = value.strip()
    return data_uri_bytes(value) if is_data_uri(value) else fetcher.fetch(value)


def open_input_image(value: str, fetcher: ImageFetcher) -> InputImage:
    """The image `value` names or carries; InputImageError (without the field: the caller adds it with `at`)."""
    return read_image(input_image_bytes(value, fetcher))
