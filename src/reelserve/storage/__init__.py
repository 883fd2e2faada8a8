"""Where MP4s and their posters live (local disk, or an S3-compatible bucket) and how clients are pointed at them.

`S3MediaStorage` is in storage/s3.py, imported only where it is used: boto3 takes a while to load.
"""

from __future__ import annotations

from reelserve.storage.base import MediaStorage, content_type, media_key
from reelserve.storage.local import LocalMediaStorage
from reelserve.storage.signing import UrlSigner

__all__ = ["LocalMediaStorage", "MediaStorage", "UrlSigner", "content_type", "media_key"]
