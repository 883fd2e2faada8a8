"""Videos in an S3-compatible bucket (AWS S3, MinIO, R2, Ceph): every API replica and worker shares it.

Uploads go through boto3's transfer manager, which splits anything above the part size into a
multipart upload and aborts it if a part fails, so an object is either whole or absent. Clients
fetch videos straight from the bucket with presigned GET URLs: no video bytes pass through the API.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from reelserve.errors import ConfigurationError, StorageUnavailableError
from reelserve.storage.base import MediaStorage, check_job_id, check_size, content_type, is_valid_key
from reelserve.storage.config import S3StorageConfig

log = logging.getLogger(__name__)

MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live
# S3 error codes that mean "try again later"; any 5xx does too. Other errors are configuration
# (credentials, bucket policy) and are raised as they are.
TRANSIENT_CODES = frozenset({"SlowDown", "RequestTimeout", "RequestTimeTooSkewed", "InternalError",
                             "ServiceUnavailable", "Throttling"})
MISSING_CODES = frozenset({"NoSuchKey", "404"})  # GetObject's answer for a key the bucket lacks


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, BotoCoreError):  # connection refused or reset, timeouts: the endpoint is away
        return True
    # boto3 re-raises a failed upload's ClientError as S3UploadFailedError, with the original as context.
    error = exc if isinstance(exc, ClientError) else exc.__context__
    if not isinstance(error, ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return status >= 500 or error.response.get("Error", {}).get("Code") in TRANSIENT_CODES


@contextlib.contextmanager
def _unavailable_as_retryable(what: str) -> Iterator[None]:
    """Turn an unreachable or overloaded endpoint into `StorageUnavailableError`, which workers retry."""
    try:
        yield
    except Exception as exc:
        if _is_transient(exc):
            raise StorageUnavailableError(f"The media storage is unavailable ({what}: {exc}).") from exc
        raise


def parse_storage_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix/"); the prefix may be empty."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigurationError(f"REELSERVE_STORAGE_URL must look like s3://bucket/prefix, not {url!r}.")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


class S3MediaStorage(MediaStorage):
    batch_size = 1000  # S3 lists and DeleteObjects deletes at most this many keys per call

    def __init__(self, client, bucket: str, prefix: str, *, url_ttl_seconds: int,  # noqa: ANN001 - a boto3 client
                 part_size: int) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix
        self.url_ttl_seconds = min(url_ttl_seconds, MAX_PRESIGN_SECONDS)
        self._transfer = TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size)

    @classmethod
    def connect(cls, config: S3StorageConfig) -> S3MediaStorage:
        """Build the client and check the bucket is there, so a wrong setting fails at startup."""
        bucket, prefix = parse_storage_url(config.url)
        client = boto3.session.Session().client(
            "s3", endpoint_url=config.endpoint_url, region_name=config.region,
            aws_access_key_id=config.access_key_id, aws_secret_access_key=config.secret_access_key,
            # A custom endpoint (MinIO, Ceph) rarely has per-bucket DNS names: address buckets by path there.
            config=Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"},
                          s3={"addressing_style": "path" if config.endpoint_url else "auto"}),
        )
        try:
            client.head_bucket(Bucket=bucket)
        except (ClientError, BotoCoreError) as exc:
            where = config.endpoint_url or f"AWS ({config.region})"
            raise ConfigurationError(
                f"The bucket {bucket!r} of REELSERVE_STORAGE_URL is not reachable at {where}: {exc}. Create it, or "
                "check REELSERVE_S3_ENDPOINT_URL and the credentials.") from exc
        return cls(client, bucket, prefix, url_ttl_seconds=config.url_ttl_seconds, part_size=config.part_size_bytes)

    def _object(self, key: str) -> str:
        if not is_valid_key(key):
            raise ValueError(f"invalid media key {key!r}")
        return self.prefix + key

    def put(self, key: str, source: Path) -> None:
        with _unavailable_as_retryable("upload"):
            self._client.upload_file(str(source), self.bucket, self._object(key), Config=self._transfer,
                                     ExtraArgs={"ContentType": content_type(key)})

    def read(self, key: str, *, max_bytes: int) -> bytes:
        with _unavailable_as_retryable("download"):
            try:
                answer = self._client.get_object(Bucket=self.bucket, Key=self._object(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in MISSING_CODES:
                    raise FileNotFoundError(f"nothing is stored under {key} in bucket {self.bucket}") from exc
                raise
            body = answer["Body"]
            try:
                check_size(key, answer["ContentLength"], max_bytes)  # refused before a byte is read
                data = body.read(max_bytes + 1)
            finally:
                body.close()
        check_size(key, len(data), max_bytes)
        return data

    def url_for(self, key: str) -> str:
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._object(key)}, ExpiresIn=self.url_ttl_seconds)

    def delete(self, key: str) -> None:
        with _unavailable_as_retryable("delete"):
            self._client.delete_object(Bucket=self.bucket, Key=self._object(key))  # a missing key is not an error

    def delete_all(self, job_id: str) -> None:
        prefix = f"{self.prefix}{check_job_id(job_id)}/"
        with _unavailable_as_retryable("delete"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": self.batch_size})
            keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
            for start in range(0, len(keys), self.batch_size):
                batch = [{"Key": k} for k in keys[start:start + self.batch_size]]
                answer = self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                if answer.get("Errors"):  # raise, so the janitor keeps the row and retries next time
                    raise RuntimeError(f"could not delete media of request {job_id}: {answer['Errors'][:3]}")
