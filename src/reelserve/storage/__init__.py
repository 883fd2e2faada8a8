"""Where MP4s and their posters live (local disk, or an S3-compatible bucket) and how clients are pointed at them.

`open_storage` opens what a `StorageConfig` (storage/config.py) names. `S3MediaStorage` is in storage/s3.py,
imported only where it is used: boto3 takes a while to load.
"""

from __future__ import annotations

from reelserve.storage.base import MediaStorage, ObjectTooLargeError, content_type, input_image_key, media_key
from reelserve.storage.config import LocalStorageConfig, S3StorageConfig, StorageConfig
from reelserve.storage.local import LocalMediaStorage
from reelserve.storage.signing import UrlSigner

__all__ = ["LocalMediaStorage", "LocalStorageConfig", "MediaStorage", "ObjectTooLargeError", "S3StorageConfig",
           "StorageConfig", "UrlSigner", "content_type", "input_image_key", "media_key", "open_storage"]


def open_storage(config: StorageConfig) -> MediaStorage:
    """The bucket of an `S3StorageConfig` (checked to be there), or the data dir of a `LocalStorageConfig`."""
    if isinstance(config, S3StorageConfig):
        from reelserve.storage.s3 import S3MediaStorage  # boto3 is only imported when asked for

        return S3MediaStorage.connect(config)
    signer = UrlSigner(config.signing_secret, config.url_ttl_seconds)
    return LocalMediaStorage(config.media_dir, config.base_url, signer)
