"""What a request's image field holds (an http(s) URL or a data URI) -> a checked InputImage.

Blocking (a fetch, then decoding): the API calls it in a worker thread, off its event loop.
"""

from __future__ import annotations

from reelserve.images.datauri import data_uri_bytes, is_data_uri
from reelserve.images.fetch import ImageFetcher
from reelserve.images.still import InputImage, read_image


def open_input_image(value: str, fetcher: ImageFetcher) -> InputImage:
    """The image `value` names or carries; InputImageError (without the field: the caller adds it with `at`)."""
    value = value.strip()
    data = data_uri_bytes(value) if is_data_uri(value) else fetcher.fetch(value)
    return read_image(data)
