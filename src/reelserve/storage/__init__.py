"""Where MP4s live (local disk today) and how their URLs are signed."""

from __future__ import annotations

from reelserve.settings import Settings
from reelserve.storage.base import MediaStorage, media_key
from reelserve.storage.local import LocalMediaStorage
from reelserve.storage.signing import UrlSigner

__all__ = ["LocalMediaStorage", "MediaStorage", "UrlSigner", "media_key", "open_storage"]


def open_storage(settings: Settings) -> MediaStorage:
    signer = UrlSigner(settings.resolved_signing_secret(), settings.url_ttl_seconds)
    return LocalMediaStorage(settings.media_dir, settings.base_url, signer)
