"""Signing and verifying reelserve's webhooks: the Standard Webhooks scheme (standardwebhooks.com).

Used by the server to sign and by receivers to verify, so it imports nothing but the standard
library: `from reelserve.webhooks import verify` works wherever the SDK is installed.

Each delivery carries three headers:

- `webhook-id`: the event's id, the same on every retry (receivers dedupe on it);
- `webhook-timestamp`: Unix seconds when this attempt was signed;
- `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
  base64 part of the API key's secret `whsec_<base64>`; several space-separated signatures may come.

The scheme is small enough that a dependency would be larger than the code; the tests check both
directions against the `standardwebhooks` package itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 5 * 60  # a signature older or newer than this is refused: replayed, or a clock far off



class EventType(StrEnum):
    """The four events a request announces, as webhooks and `/events` spell them: `request.<kind>`.

    The one place the words are written; the store keeps the kind (`started`...), the wire the type.
    """

    STARTED = "request.started"
    COMPLETED = "request.completed"
    FAILED = "request.failed"
    CANCELLED = "request.cancelled"

    @property
    def kind(self) -> str:
        """`completed` for `request.completed`: what the store and a subscription's filter hold."""
        return self.value.removeprefix("request.")

    @classmethod
    def of(cls, kind: str) -> EventType:
        """The event type for a stored kind; ValueError names the kinds there are."""
        try:
            return cls("request." + kind)
        except ValueError:
            raise ValueError(f"unknown event {kind!r}: one of {', '.join(t.kind for t in cls)}") from None

    @classmethod
    def named(cls, name: str) -> EventType:
        """What a user wrote, `completed` or `request.completed`; ValueError names the kinds there are."""
        return cls.of(name.strip().removeprefix("request."))


class WebhookVerificationError(ValueError):
    """The request is not a genuine, fresh reelserve webhook: its headers, signature or age are wrong."""


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError as exc:
        raise WebhookVerificationError("the secret is not a whsec_<base64> signing secret") from exc


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header's value for this id, timestamp and body."""
    return "v1," + base64.b64encode(_digest(secret, msg_id, timestamp, body)).decode()


def signed_headers(secret: str, msg_id: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt."""
    timestamp = int(time.time() if now is None else now)
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body)}


def verify(headers: Mapping[str, str], body: bytes | str, secret: str, *,
           tolerance_seconds: int = TOLERANCE_SECONDS, now: float | None = None) -> dict[str, Any]:
    """The parsed event if `body` with `headers` is a genuine webhook signed with `secret`; else
    WebhookVerificationError, whatever the headers hold (a receiver needs to catch nothing else).
    Pass the raw body exactly as received (bytes), not re-serialised JSON."""
    msg_id, timestamp, signatures = _delivery_headers(headers)
    if abs((time.time() if now is None else now) - timestamp) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is too old or too new: a replay, or a clock far off")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    expected = _digest(secret, msg_id, timestamp, raw)
    # One match is enough: during a secret rotation a sender signs with both secrets.
    if not any(hmac.compare_digest(candidate, expected) for candidate in signatures):
        raise WebhookVerificationError("no signature matches: a different secret, or the body was changed")
    try:
        return json.loads(raw)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None


def _delivery_headers(headers: Mapping[str, str]) -> tuple[str, int, list[bytes]]:
    """(webhook-id, webhook-timestamp, the v1 signatures decoded) from headers named in any case."""
    lower = {str(name).lower(): str(value) for name, value in headers.items()}
    missing = [name for name in ("webhook-id", "webhook-timestamp", "webhook-signature") if name not in lower]
    if missing:
        raise WebhookVerificationError(f"missing the {missing[0]} header")
    msg_id, stamp = lower["webhook-id"], lower["webhook-timestamp"]
    # What a sender sends: printable ASCII. Anything else cannot be signed text; say so rather than fail later.
    if not msg_id or not _is_printable_ascii(msg_id):
        raise WebhookVerificationError("webhook-id is not a non-empty printable ASCII id")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds (ASCII digits)")
    signatures = _v1_signatures(lower["webhook-signature"])
    if not signatures:
        raise WebhookVerificationError("webhook-signature has no `v1,<base64>` signature")
    return msg_id, int(stamp), signatures


def _v1_signatures(header: str) -> list[bytes]:
    """Each well-formed `v1,<base64>` of the space-separated list, decoded; other versions and junk skipped."""
    decoded = []
    for candidate in header.split():
        version, comma, value = candidate.partition(",")
        if version != "v1" or not comma or not value.isascii():
            continue
        try:
            decoded.append(base64.b64decode(value, validate=True))
        except ValueError:  # binascii.Error: not base64
            continue
    return decoded


def _is_printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _digest(secret: str, msg_id: str, timestamp: int, body: bytes) -> bytes:
    return hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
