"""Where the videos go, as plain values: the data dir (`LocalStorageConfig`) or a bucket (`S3StorageConfig`).

The CLI builds one from the settings (cli/compose.py); `reelserve.storage.open_storage` opens it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LocalStorageConfig:
    """Videos under `media_dir`, served by the API at links under `base_url`, signed with `signing_secret`."""

    media_dir: Path
    base_url: str
    signing_secret: bytes = field(repr=False)
    url_ttl_seconds: int  # how long a signed link stays valid


@dataclass(frozen=True)
class S3StorageConfig:
    """Videos in the bucket of `url` (`s3://bucket/prefix`), handed out as presigned links."""

    url: str
    endpoint_url: str | None  # MinIO, R2, Ceph...; None: AWS
    region: str
    access_key_id: str | None  # None (both): boto3's default chain
    secret_access_key: str | None = field(repr=False)
    url_ttl_seconds: int  # capped at S3's longest presign (storage/s3.py)
    part_size_bytes: int  # larger uploads go up in parts of this size


StorageConfig = LocalStorageConfig | S3StorageConfig
