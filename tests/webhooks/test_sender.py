"""One delivery attempt against a real receiver on 127.0.0.1: outcomes, no redirects, the address rules."""

from __future__ import annotations

import json

from reelserve import webhooks
from reelserve.delivery import Sender
from tests.webhooks.receiver import receiver

BODY = json.dumps({"type": "request.completed", "data": {"request_id": "r"}}).encode()


def _headers(secret: str) -> dict[str, str]:
    return webhooks.signed_headers(secret, "msg_r_completed", BODY)


def test_a_2xx_is_delivered_and_the_receiver_can_verify_it() -> None:
    secret = webhooks.new_secret()
    sender = Sender(allow_private=True)
    with receiver([204]) as hook:
        outcome = sender.send(hook.url, BODY, _headers(secret))
    assert outcome.delivered and outcome.status_code == 204 and outcome.error is None and outcome.latency_ms > 0
    got = hook.received[0]
    assert got.path == "/hooks/reelserve" and got.headers["content-type"] == "application/json"
    assert got.headers["host"] == hook.url.split("/")[2]  # the URL's own host:port, though the address was pinned
    assert webhooks.verify(got.headers, got.body, secret)["data"]["request_id"] == "r"


def test_non_2xx_and_redirects_are_failed_attempts_and_a_redirect_is_not_followed() -> None:
    sender = Sender(allow_private=True)
    with receiver([500, (302, {"Location": "http://127.0.0.1:9/elsewhere"})]) as hook:
        first = sender.send(hook.url, BODY, _headers(webhooks.new_secret()))
        second = sender.send(hook.url, BODY, _headers(webhooks.new_secret()))
    assert (first.delivered, first.status_code) == (False, 500)
    assert (second.delivered, second.status_code) == (False, 302)
    assert len(hook.received) == 2  # the redirect's target was never asked


def test_a_slow_receiver_times_out_as_an_error() -> None:
    sender = Sender(allow_private=True, timeout_seconds=0.3)
    with receiver([1.0]) as hook:
        outcome = sender.send(hook.url, BODY, _headers(webhooks.new_secret()))
    assert not outcome.delivered and outcome.status_code is None and "no answer within 0.3 s" in outcome.error


def test_a_name_resolving_to_loopback_is_refused_at_delivery_unless_allowed() -> None:
    with receiver([200]) as hook:
        by_name = hook.url.replace("127.0.0.1", "localhost")
        refused = Sender(allow_private=False).send(by_name, BODY, _headers(webhooks.new_secret()))
        assert hook.received == []  # nothing was sent
        allowed = Sender(allow_private=True).send(by_name, BODY, _headers(webhooks.new_secret()))
    assert refused.error.startswith("refused: localhost resolves to") and "loopback" in refused.error
    assert allowed.delivered and len(hook.received) == 1


def test_a_literal_loopback_address_is_refused_without_a_connection() -> None:
    with receiver([200]) as hook:
        outcome = Sender(allow_private=False).send(hook.url, BODY, _headers(webhooks.new_secret()))
        assert hook.received == []
    assert outcome.error == "refused: 127.0.0.1 is a loopback address"


def test_a_closed_port_is_a_connection_error() -> None:
    # (No unresolvable-name case: resolving one would send a DNS query off this machine.)
    closed = Sender(allow_private=True).send("http://127.0.0.1:9/x", BODY, {})
    assert closed.status_code is None and "ConnectError" in closed.error
