"""reelserve.webhooks signs and verifies exactly as the Standard Webhooks reference package does."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError as ReferenceError

from reelserve import webhooks
from reelserve.webhooks import WebhookVerificationError

BODY = json.dumps({"type": "request.completed", "timestamp": "2026-11-22T10:00:00Z",
                   "data": {"request_id": "r", "status": "completed"}}).encode()


def test_the_reference_package_verifies_what_we_sign_and_we_verify_what_it_signs() -> None:
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_")
    headers = webhooks.signed_headers(secret, "msg_1", BODY)
    assert Webhook(secret).verify(BODY, headers)["type"] == "request.completed"
    theirs = Webhook(secret).sign("msg_2", datetime.now(UTC), BODY.decode())
    ours = webhooks.verify({"Webhook-Id": "msg_2", "Webhook-Timestamp": str(int(time.time())),
                            "Webhook-Signature": theirs}, BODY, secret)
    assert ours["data"]["status"] == "completed"


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret", "stale", "missing"])
def test_anything_changed_fails_in_both(tamper: str) -> None:
    secret, body = webhooks.new_secret(), BODY
    headers = webhooks.signed_headers(secret, "msg_1", BODY)
    if tamper == "body":
        body = BODY.replace(b"completed", b"failed", 1)
    elif tamper == "id":
        headers["webhook-id"] = "msg_2"
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    elif tamper == "secret":
        secret = webhooks.new_secret()
    elif tamper == "stale":
        headers = webhooks.signed_headers(secret, "msg_1", BODY, now=time.time() - 600)
    else:
        del headers["webhook-signature"]
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(headers, body, secret)
    with pytest.raises(ReferenceError):
        Webhook(secret).verify(body, headers)


def test_one_of_several_signatures_is_enough_as_during_a_secret_rotation() -> None:
    old, new = webhooks.new_secret(), webhooks.new_secret()
    headers = webhooks.signed_headers(new, "msg_1", BODY)
    stamp = int(headers["webhook-timestamp"])
    headers["webhook-signature"] = f"{webhooks.sign(old, 'msg_1', stamp, BODY)} {headers['webhook-signature']}"
    assert webhooks.verify(headers, BODY, new)["type"] == "request.completed"
    assert webhooks.verify(headers, BODY, old)["type"] == "request.completed"

