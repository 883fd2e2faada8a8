"""With the common umask 022, nothing reelserve writes in the data dir is readable by other local
users: prompts live in the database, videos in media/, and both are served only through the API."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from reelserve.cli.compose import storage_for, store_for
from reelserve.settings import Settings
from tests.jobs import submit


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_database_wal_and_videos_are_private(tmp_path: Path, umask_022) -> None:
    settings = Settings(data_dir=tmp_path / "data", signing_secret="")
    store = store_for(settings)
    owner, _ = store.create_key("owner")
    job = submit(store, owner.id, "kling/kling-3.0/pro/text-to-video", {"prompt": "a private prompt"})
    storage = storage_for(settings)
    source = tmp_path / "v.mp4"
    source.write_bytes(b"\x00" * 100)
    storage.put(f"{job.id}/1-abcd/video.mp4", source)

    data = settings.data_dir
    assert mode(data) == 0o700
    for name in ("reelserve.db", "reelserve.db-wal", "reelserve.db-shm", "signing.key"):
        assert mode(data / name) == 0o600, name
    assert mode(data / "media") == mode(data / "media" / job.id) == mode(data / "media" / job.id / "1-abcd") == 0o700
    assert mode(data / "media" / job.id / "1-abcd" / "video.mp4") == 0o600
    store.close()
