"""Publishing a clip: encode the MP4 and its poster, upload both under the attempt's own keys, or
delete them again when the completion that would have named them was refused."""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from reelserve.errors import disk_faults
from reelserve.media import Clip, VideoEncoder, write_mp4, write_poster
from reelserve.storage import MediaStorage, media_key
from reelserve.worker.config import WorkerConfig
from reelserve.worker.retry import retrying

log = logging.getLogger(__name__)


class Published(NamedTuple):
    """Where one attempt's files were stored: under keys of its own, so no attempt overwrites another's."""

    video_key: str
    poster_key: str


class Publisher:
    def __init__(self, storage: MediaStorage, encoder: VideoEncoder, config: WorkerConfig) -> None:
        self.storage = storage
        self.encoder = encoder  # chosen for the engine's device when it loaded
        self.config = config

    def publish(self, job_id: str, attempt: int, clip: Clip) -> tuple[Published, dict[str, float]]:
        """Encode and upload; with the encode and store seconds. A full or read-only scratch disk is a
        DiskFullError (not the job's fault); an unreachable storage is retried for a lease."""
        tag = f"{attempt}-{secrets.token_hex(4)}"
        published = Published(media_key(job_id, tag), media_key(job_id, tag, "poster.jpg"))
        with disk_faults():
            self.config.scratch_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            with tempfile.TemporaryDirectory(dir=self.config.scratch_dir) as scratch:
                began = time.perf_counter()
                video = write_mp4(clip, Path(scratch) / "video.mp4", encoder=self.encoder)
                poster = write_poster(clip, Path(scratch) / "poster.jpg")
                encoded = time.perf_counter()
                # The poster first: once the video is stored, the completion may point at both.
                retrying(self.config, lambda: self.storage.put(published.poster_key, poster), "the poster upload")
                retrying(self.config, lambda: self.storage.put(published.video_key, video), "the upload")
                stored = time.perf_counter()
        return published, {"encode_seconds": round(encoded - began, 4), "store_seconds": round(stored - encoded, 4)}

    def discard(self, published: Published) -> None:
        """Delete an attempt's uploads that no row names: the winner's are under keys of their own."""
        for key in published:
            self.storage.delete(key)
