"""The one rule for media keys and request ids, shared by every storage and by the API's routes."""

from __future__ import annotations

import pytest

from reelserve.storage.base import check_job_id, is_valid_key, media_key
from reelserve.ids import is_request_id


@pytest.mark.parametrize("key", [media_key("req-1"), media_key("req-1", attempt="2-ab12cd34"), "a/b/c.mp4"])
def test_keys_the_worker_writes_are_valid(key: str) -> None:
    assert is_valid_key(key)


@pytest.mark.parametrize("key", ["../x/video.mp4", "a/../b.mp4", "/abs.mp4", "a/b/c/d.mp4", "a/video.mp4\n",
                                 "a" * 129 + "/video.mp4", "a/video .mp4"])
def test_keys_that_could_escape_or_smuggle_are_refused(key: str) -> None:
    assert not is_valid_key(key)


def test_a_request_id_is_the_whole_string_not_a_prefix_of_it() -> None:
    assert is_request_id("5f0c2d4e-1b7a-4c5e-9d1f-0a2b3c4d5e6f")
    for bad in ("", "abc\n", "a/b", "..", "a" * 129, "ü"):
        assert not is_request_id(bad)
        with pytest.raises(ValueError):
            check_job_id(bad)
