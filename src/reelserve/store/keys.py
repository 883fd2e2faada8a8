"""API keys: made with a plaintext shown once, kept only as a hash, revoked but never deleted."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from reelserve.store.backend import Backend
from reelserve.store.job import ApiKey

KEY_PREFIX = "rs_"


def hash_api_key(plaintext: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _new_key(name: str, now: datetime) -> tuple[ApiKey, str]:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    return ApiKey(id="key_" + secrets.token_hex(6), name=name, prefix=plaintext[:10], created_at=now), plaintext


def _key_columns(key: ApiKey, plaintext: str) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "key_hash": hash_api_key(plaintext), "prefix": key.prefix,
            "created_at": key.created_at}


class Keys(Backend):
    def create_key(self, name: str) -> tuple[ApiKey, str]:
        """Create a key; returns it and its plaintext, which is never stored and never shown again."""
        key, plaintext = _new_key(name, self.clock())
        with self._statement() as conn:
            self._run(conn, "insert_key", **_key_columns(key, plaintext))
        return key, plaintext

    def create_first_key(self, name: str) -> tuple[ApiKey, str] | None:
        """Create a key only if none exists, atomically: of several API replicas starting together
        on an empty database, exactly one creates it. None when a key already existed."""
        key, plaintext = _new_key(name, self.clock())
        with self._transaction() as conn:
            self._exclusive(conn, "first-key")
            created = self._run(conn, "insert_first_key", **_key_columns(key, plaintext)) == 1
        return (key, plaintext) if created else None

    def authenticate(self, plaintext: str) -> ApiKey | None:
        """The active key matching `plaintext`, or None."""
        if not plaintext.startswith(KEY_PREFIX):
            return None
        digest = hash_api_key(plaintext)
        row = self._read_row("key_by_hash", key_hash=digest)
        # The lookup is by index; the final equality is constant-time all the same.
        if row is None or not hmac.compare_digest(row["key_hash"], digest):
            return None
        key = self._key(row)
        return key if key.active else None

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key; False when there is no such active key."""
        return self._write("revoke_key", id=key_id, now=self.clock()) == 1

    def list_keys(self) -> list[ApiKey]:
        with self._connection() as conn:
            return [self._key(row) for row in self._rows(conn, "list_keys")]
