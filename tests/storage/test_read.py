"""MediaStorage.read: what a worker reads an image-to-video request's stored images with, on both backends.

The same cases on the data dir and on a real S3 server (moto, its own process over HTTP): the bytes as stored,
FileNotFoundError for a key with nothing under it, a refusal past the reader's bound, and no key that could
climb out of the storage's root. On S3, an endpoint that is away is a StorageUnavailableError, which the
worker treats as an outage (the request goes back to the queue) rather than the request's fault.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reelserve.cli.compose import storage_for
from reelserve.errors import StorageUnavailableError
from reelserve.settings import Settings
from reelserve.storage import MediaStorage, ObjectTooLargeError, media_key
from tests.conftest import S3_CREDENTIALS

KEY = media_key("7d1e5c2a-req", filename="start_image")


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStorage:
    if request.param == "local":
        return storage_for(Settings(data_dir=tmp_path / "data", signing_secret="test-secret"))
    settings = Settings(data_dir=tmp_path / "data", storage_url=request.getfixturevalue("s3_url"),
                        s3_endpoint_url=request.getfixturevalue("s3_endpoint"), **S3_CREDENTIALS)
    return storage_for(settings)


def put(storage: MediaStorage, tmp_path: Path, key: str, data: bytes) -> None:
    source = tmp_path / "source"
    source.write_bytes(data)
    storage.put(key, source)


def test_read_gives_back_the_bytes_as_stored(storage: MediaStorage, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    put(storage, tmp_path, KEY, data)
    assert storage.read(KEY, max_bytes=len(data)) == data  # exactly at the bound is allowed
    put(storage, tmp_path, KEY, b"")  # replaced whole
    assert storage.read(KEY, max_bytes=10) == b""


def test_a_missing_key_is_file_not_found(storage: MediaStorage, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        storage.read(KEY, max_bytes=100)
    put(storage, tmp_path, KEY, b"x" * 10)
    storage.delete_all("7d1e5c2a-req")  # retention deletes the images with the request
    with pytest.raises(FileNotFoundError):
        storage.read(KEY, max_bytes=100)


def test_an_object_over_the_bound_is_refused(storage: MediaStorage, tmp_path: Path) -> None:
    put(storage, tmp_path, KEY, b"x" * 1001)
    with pytest.raises(ObjectTooLargeError) as caught:
        storage.read(KEY, max_bytes=1000)
    assert (caught.value.size, caught.value.max_bytes) == (1001, 1000), caught.value
    assert KEY in str(caught.value) and "1001" in str(caught.value), str(caught.value)


def test_keys_that_could_escape_the_root_are_refused(storage: MediaStorage) -> None:
    for key in ("../other/start_image", "a/../../b", "/abs/start_image", "r/.."):
        with pytest.raises(ValueError) as caught:
            storage.read(key, max_bytes=100)
        assert not isinstance(caught.value, ObjectTooLargeError), f"{key!r}: {caught.value}"


def test_an_unreachable_s3_endpoint_is_a_retryable_error(s3_endpoint: str, s3_url: str, tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    from reelserve.storage.s3 import S3MediaStorage, parse_storage_url
    from tests.faults import TcpProxy

    proxy = TcpProxy(("127.0.0.1", int(s3_endpoint.rsplit(":", 1)[1])))
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{proxy.port}", region_name="us-east-1",
                          aws_access_key_id="test-access", aws_secret_access_key="test-secret",
                          config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    bucket, prefix = parse_storage_url(s3_url)
    storage = S3MediaStorage(client, bucket, prefix, url_ttl_seconds=60, part_size=5 * 1024 * 1024)
    try:
        put(storage, tmp_path, KEY, b"image bytes")
        assert storage.read(KEY, max_bytes=100) == b"image bytes"
        proxy.cut()
        with pytest.raises(StorageUnavailableError) as caught:
            storage.read(KEY, max_bytes=100)
        assert "download" in caught.value.message, caught.value.message
    finally:
        proxy.close()
