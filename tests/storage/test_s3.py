"""S3 media storage against a real S3 server (moto, as its own process over HTTP)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from reelserve.cli.compose import storage_for
from reelserve.errors import ConfigurationError
from reelserve.settings import Settings
from reelserve.storage import media_key
from reelserve.storage.s3 import S3MediaStorage, parse_storage_url
from tests.conftest import S3_CREDENTIALS

MIB = 1024 * 1024


@pytest.fixture
def storage(tmp_path: Path, s3_endpoint: str, s3_url: str) -> S3MediaStorage:
    settings = Settings(data_dir=tmp_path, storage_url=s3_url, s3_endpoint_url=s3_endpoint, s3_part_size_mib=5,
                        **S3_CREDENTIALS)
    opened = storage_for(settings)
    assert isinstance(opened, S3MediaStorage)
    return opened


def raw(storage: S3MediaStorage):
    return storage._client  # the same client, for looking at what the bucket holds


def write(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_a_stored_video_is_fetched_through_its_presigned_url_without_credentials(storage, tmp_path) -> None:
    source = write(tmp_path / "v.mp4", 200_000)
    key = media_key("req-1", attempt="1-ab12")
    storage.put(key, source)
    head = raw(storage).head_object(Bucket=storage.bucket, Key=f"videos/{key}")
    assert head["ContentType"] == "video/mp4" and head["ContentLength"] == 200_000
    url = storage.url_for(key)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=" in url
    got = httpx.get(url)
    assert got.status_code == 200 and got.content == source.read_bytes()
    ranged = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.content == source.read_bytes()[100:200]


def test_a_large_video_goes_up_in_parts(storage, tmp_path) -> None:
    source = write(tmp_path / "big.mp4", 11 * MIB)
    storage.put("req-2/video.mp4", source)
    etag = raw(storage).head_object(Bucket=storage.bucket, Key="videos/req-2/video.mp4")["ETag"].strip('"')
    assert etag.endswith("-3"), f"expected a 3-part multipart upload (5 MiB parts), got ETag {etag}"
    assert httpx.get(storage.url_for("req-2/video.mp4")).content == source.read_bytes()
    assert raw(storage).list_multipart_uploads(Bucket=storage.bucket).get("Uploads", []) == []


def test_delete_all_removes_every_attempt_of_one_request_only(storage, tmp_path) -> None:
    source = write(tmp_path / "v.mp4", 1000)
    for key in ("abc/1-aa/video.mp4", "abc/2-bb/video.mp4", "abc/video.mp4", "abcd/1-cc/video.mp4"):
        storage.put(key, source)
    storage.delete_all("abc")
    storage.delete_all("abc")  # idempotent
    left = [o["Key"] for o in raw(storage).list_objects_v2(Bucket=storage.bucket)["Contents"]]
    assert left == ["videos/abcd/1-cc/video.mp4"]
    storage.delete("abcd/1-cc/video.mp4")
    storage.delete("abcd/1-cc/video.mp4")
    assert raw(storage).list_objects_v2(Bucket=storage.bucket)["KeyCount"] == 0


def test_delete_all_pages_through_more_than_one_listing(storage, tmp_path) -> None:
    storage.batch_size = 3  # as if S3's 1,000-key pages: 8 objects take three listings and three deletes
    source = write(tmp_path / "v.mp4", 10)
    for attempt in range(8):
        storage.put(f"many/{attempt}-x/video.mp4", source)
    storage.delete_all("many")
    assert raw(storage).list_objects_v2(Bucket=storage.bucket)["KeyCount"] == 0


def test_presigned_urls_last_the_configured_ttl_but_never_past_what_sigv4_allows(storage) -> None:
    assert "X-Amz-Expires=604800" in storage.url_for("r/video.mp4")  # the default TTL is exactly the cap
    storage.url_ttl_seconds = 3600
    assert "X-Amz-Expires=3600" in storage.url_for("r/video.mp4")
    month = S3MediaStorage(raw(storage), "b", "", url_ttl_seconds=30 * 24 * 3600, part_size=5 * MIB)
    assert "X-Amz-Expires=604800" in month.url_for("r/video.mp4")


def test_keys_that_could_escape_the_prefix_are_refused(storage, tmp_path) -> None:
    for key in ("../other/video.mp4", "a/../../b.mp4", "/abs.mp4"):
        with pytest.raises(ValueError):
            storage.put(key, write(tmp_path / "v.mp4", 10))
    with pytest.raises(ValueError):
        storage.delete_all("../videos")


def test_a_missing_bucket_fails_at_startup_naming_the_setting(tmp_path, s3_endpoint) -> None:
    settings = Settings(data_dir=tmp_path, storage_url="s3://no-such-bucket/x", s3_endpoint_url=s3_endpoint,
                        **S3_CREDENTIALS)
    with pytest.raises(ConfigurationError) as caught:
        storage_for(settings)
    assert "REELSERVE_STORAGE_URL" in caught.value.message and "no-such-bucket" in caught.value.message


def test_storage_urls_parse_into_bucket_and_prefix() -> None:
    assert parse_storage_url("s3://b") == ("b", "")
    assert parse_storage_url("s3://b/") == ("b", "")
    assert parse_storage_url("s3://b/a/c/") == ("b", "a/c/")
    with pytest.raises(ConfigurationError):
        parse_storage_url("http://b/a")


def test_an_unreachable_or_cut_off_endpoint_is_a_retryable_error(storage, tmp_path) -> None:
    import boto3
    from botocore.config import Config

    from reelserve.errors import StorageUnavailableError
    from tests.faults import TcpProxy

    host, port = storage._client.meta.endpoint_url.removeprefix("http://").split(":")
    proxy = TcpProxy((host, int(port)))
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{proxy.port}", region_name="us-east-1",
                          aws_access_key_id="a", aws_secret_access_key="b",
                          config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    through_proxy = S3MediaStorage(client, storage.bucket, storage.prefix, url_ttl_seconds=60, part_size=5 * MIB)
    source = write(tmp_path / "v.mp4", 6 * MIB)  # multipart: the failure surfaces through boto3's transfer manager
    through_proxy.put("r/1-a/video.mp4", source)
    proxy.cut()
    try:
        for action in (lambda: through_proxy.put("r/2-b/video.mp4", source), lambda: through_proxy.delete_all("r")):
            with pytest.raises(StorageUnavailableError):
                action()
    finally:
        proxy.close()
    with pytest.raises(Exception) as caught:  # a permanent error (no such bucket) is not dressed up as transient
        S3MediaStorage(storage._client, "no-such-bucket", "", url_ttl_seconds=60, part_size=5 * MIB).put(
            "r/video.mp4", source)
    assert not isinstance(caught.value, StorageUnavailableError)
