"""Videos on local disk under the data dir, served by the API at signed /media/ URLs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlencode

from reelserve.errors import MediaLinkError, RequestNotFoundError, disk_faults
from reelserve.storage.base import MediaStorage, check_job_id, check_size, is_valid_key
from reelserve.storage.signing import UrlSigner


class LocalMediaStorage(MediaStorage):
    def __init__(self, root: Path, base_url: str, signer: UrlSigner) -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self.signer = signer

    def path_for(self, key: str) -> Path | None:
        """The file for a well-formed key, or None; keys never escape the media root."""
        if not is_valid_key(key):
            return None
        return self.root / key

    def signed_path(self, key: str, expires: str, signature: str) -> Path:
        """The file a signed link points at; the same signer that made the link checks it."""
        if not self.signer.verify(key, expires, signature):
            raise MediaLinkError()
        path = self.path_for(key)
        if path is None or not path.is_file():
            raise RequestNotFoundError("This video no longer exists.")
        return path

    def put(self, key: str, source: Path) -> None:
        target = self.path_for(key)
        if target is None:
            raise ValueError(f"invalid media key {key!r}")
        # Only this user may read videos (they are served through signed links, not the file system).
        _private_dirs(self.root, key)
        partial = target.with_name(f".{target.name}.partial")
        with disk_faults():
            shutil.copyfile(source, partial)
        partial.chmod(0o600)
        os.replace(partial, target)  # readers see the old file or the whole new one

    def read(self, key: str, *, max_bytes: int) -> bytes:
        path = self.path_for(key)
        if path is None:
            raise ValueError(f"invalid media key {key!r}")
        with open(path, "rb") as file:
            check_size(key, os.fstat(file.fileno()).st_size, max_bytes)
            data = file.read(max_bytes + 1)  # bounded even if the file grew since: put() replaces, never appends
        check_size(key, len(data), max_bytes)
        return data

    def url_for(self, key: str) -> str:
        return f"{self.base_url}/media/{key}?{urlencode(self.signer.sign(key))}"

    def delete(self, key: str) -> None:
        target = self.path_for(key)
        if target is not None:
            target.unlink(missing_ok=True)

    def delete_all(self, job_id: str) -> None:
        shutil.rmtree(self.root / check_job_id(job_id), ignore_errors=True)


def _private_dirs(root: Path, key: str) -> None:
    """The root and each folder of the key, mode 0700 (mkdir(parents=True) gives parents 0777 - umask)."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = root
    for part in Path(key).parent.parts:
        folder = folder / part
        folder.mkdir(exist_ok=True, mode=0o700)
