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



def _genuine() -> tuple[str, dict[str, str]]:
    secret = webhooks.new_secret()
    return secret, webhooks.signed_headers(secret, "msg_1", BODY)


@pytest.mark.parametrize("signature", [
    "v1,é", "v1,\u00e9\u00e9\u00e9=", "v1,\u0661\u0662", "v1,\udcff",  # not ASCII (é as a receiver gets it, too)
    "v1,!!!not-base64!!!", "v1,abc", "v1,", "v1", ",", "", "   ", "v2,{valid}", "v1{valid}", "{valid}",
])
def test_a_malformed_signature_header_is_a_verification_error(signature: str) -> None:
    secret, headers = _genuine()
    headers["webhook-signature"] = signature.format(valid=headers["webhook-signature"].removeprefix("v1,"))
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(headers, BODY, secret)


@pytest.mark.parametrize("stamp", ["", "abc", "1.5e9", "-1", "+{now}", " {now}", "{now}\n", "1_{now}",
                                   "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660", "9" * 5000, "é"])
def test_a_malformed_timestamp_is_a_verification_error(stamp: str) -> None:
    secret = webhooks.new_secret()
    stamp = stamp.format(now=int(time.time()))
    headers = {"webhook-id": "msg_1", "webhook-timestamp": stamp,
               "webhook-signature": webhooks.sign(secret, "msg_1", int(time.time()), BODY)}
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(headers, BODY, secret)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_a_verification_error_naming_it(missing: str) -> None:
    secret, headers = _genuine()
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=missing):
        webhooks.verify(headers, BODY, secret)


@pytest.mark.parametrize("msg_id", ["é", "\udcff", ""])
def test_an_odd_message_id_is_a_verification_error(msg_id: str) -> None:
    secret, headers = _genuine()
    headers["webhook-id"] = msg_id
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(headers, BODY, secret)


def test_a_bad_header_among_several_signatures_does_not_hide_the_good_one() -> None:
    secret, headers = _genuine()
    headers["webhook-signature"] = f"v1,é v1 v1,!!! {headers['webhook-signature']}"
    assert webhooks.verify(headers, BODY, secret)["type"] == "request.completed"


def test_the_receiver_in_docs_client_md_answers_400_to_a_non_ascii_signature() -> None:
    """The docs' receiver reads headers with http.server, which decodes them as Latin-1."""
    import email.parser

    secret, headers = _genuine()
    raw = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).replace(
        headers["webhook-signature"], "v1,é").encode("utf-8")
    parsed = email.parser.Parser().parsestr(raw.decode("iso-8859-1"))
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(parsed, BODY, secret)
