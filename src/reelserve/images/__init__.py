"""Input images for image-to-video: fetched once at submit (or decoded from a data URI), checked by their
bytes and size, and decoded upright to RGB. Every refusal is a reelserve.errors.InputImageError."""

from __future__ import annotations

from reelserve.images.datauri import MAX_DATA_URI_IMAGE_BYTES, data_uri_bytes, is_data_uri
from reelserve.images.fetch import MAX_IMAGE_BYTES, MAX_REDIRECTS, ImageFetcher
from reelserve.images.problems import ImageProblem
from reelserve.images.source import input_image_bytes, open_input_image
from reelserve.images.still import (MAX_ASPECT, MAX_PIXELS, MIN_SHORT_SIDE, ImageFormat, InputImage,
                                    nearest_aspect_ratio, read_image)

__all__ = ["MAX_ASPECT", "MAX_DATA_URI_IMAGE_BYTES", "MAX_IMAGE_BYTES", "MAX_PIXELS", "MAX_REDIRECTS",
           "MIN_SHORT_SIDE", "ImageFetcher", "ImageFormat", "ImageProblem", "InputImage", "data_uri_bytes", "input_image_bytes",
           "is_data_uri", "nearest_aspect_ratio", "open_input_image", "read_image"]
