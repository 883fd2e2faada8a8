"""HMAC-signed, expiring media URLs: fetchable without the bearer token, like a CDN link."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

EXPIRES = re.compile(r"[0-9]{1,12}", re.ASCII)
SIGNATURE = re.compile(r"[0-9a-f]{64}", re.ASCII)


class UrlSigner:
    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def _signature(self, key: str, expires: int) -> str:
        return hmac.new(self._secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, key: str, now: float | None = None) -> dict[str, str]:
        expires = int((time.time() if now is None else now) + self.ttl_seconds)
        return {"expires": str(expires), "signature": self._signature(key, expires)}

    def verify(self, key: str, expires: str, signature: str, now: float | None = None) -> bool:
        # Only what sign() makes can match: up to 12 ASCII digits and 64 hex digits. Anything else
        # ("²" passes str.isdigit(); 5,000 digits exceed int()'s limit) is refused before int() or
        # compare_digest (which raises on non-ASCII text) could fail on it.
        if not (EXPIRES.fullmatch(expires) and SIGNATURE.fullmatch(signature)):
            return False
        if int(expires) < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(self._signature(key, int(expires)), signature)
