"""The data dir's signing key: the HMAC secret of local media links when `signing_secret` is unset.

Made here, in the composition root, so that reading the settings writes nothing: the first process to
need the key creates it, and every process sharing the data dir reads the same one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "signing.key"


def read_or_create_signing_key(data_dir: Path) -> bytes:
    """`<data_dir>/signing.key`, created with a random secret on first use (mode 0600, in a 0700 data dir)."""
    path = data_dir / FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f"{FILE_NAME}.{secrets.token_hex(4)}")
        tmp.touch(mode=0o600)
        tmp.write_text(secrets.token_hex(32))
        # link() fails if the file exists, so an API and a worker starting together agree on one secret.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()
