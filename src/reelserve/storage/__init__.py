"""Where MP4s live (local disk, or an S3-compatible bucket) and how clients are pointed at them."""

from __future__ import annotations

from reelserve.settings import Settings
from reelserve.storage.base import MediaStorage, media_key
from reelserve.storage.local import LocalMediaStorage
from reelserve.storage.signing import UrlSigner

__all__ = ["LocalMediaStorage", "MediaStorage", "UrlSigner", "media_key", "open_storage"]


def open_storage(settings: Settings) -> MediaStorage:
    """The storage the settings name: S3 when `storage_url` is set, else the data dir."""
    if settings.storage_url:
        from reelserve.storage.s3 import S3MediaStorage  # boto3 is only imported when asked for

        return S3MediaStorage.connect(
            settings.storage_url, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
            access_key_id=settings.s3_access_key_id, secret_access_key=settings.s3_secret_access_key,
            url_ttl_seconds=settings.url_ttl_seconds, part_size=settings.s3_part_size_mib * 1024 * 1024)
    signer = UrlSigner(settings.resolved_signing_secret(), settings.url_ttl_seconds)
    return LocalMediaStorage(settings.media_dir, settings.base_url, signer)
