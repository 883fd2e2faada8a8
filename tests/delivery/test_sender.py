"""One delivery attempt against a real receiver on 127.0.0.1: outcomes, no redirects, the address rules."""

from __future__ import annotations

import itertools
import json
import time
import tracemalloc
import zlib
from collections.abc import Callable

import pytest

from reelserve import addresses, webhooks
from reelserve.delivery import Sender
from reelserve.delivery.sender import MAX_ANSWER_BYTES
from reelserve.store import WebhookAttempt
from tests.delivery.receiver import Reply, receiver

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


# --- hostile receivers: what an answer may cost ---------------------------------------------------

MIB = 1024 * 1024
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """64 MiB of zeros, gzipped to about 64 KB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MIB)
    return b"".join(packer.compress(zeros) for _ in range(64)) + packer.flush()


def _measured(send: Callable[[], WebhookAttempt]) -> tuple[WebhookAttempt, float, int]:
    """The outcome, how long it took in seconds, and the most memory Python held meanwhile, in bytes."""
    tracemalloc.start()
    began = time.monotonic()
    try:
        outcome = send()
        return outcome, time.monotonic() - began, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_gzip_bomb_answer_is_never_decoded(gzip_bomb: bytes) -> None:
    sender = Sender(allow_private=True)
    bomb = Reply(200, {"Content-Encoding": "gzip", "Content-Length": str(len(gzip_bomb))}, [gzip_bomb])
    with receiver([bomb]) as hook:
        outcome, took, peak = _measured(lambda: sender.send(hook.url, BODY, _headers(webhooks.new_secret())))
    assert peak < 4 * MIB, f"{peak / MIB:.1f} MiB held for a {len(gzip_bomb) // 1024} KB answer"
    assert outcome.delivered and hook.received[0].headers["accept-encoding"] == "identity"
    assert outcome.answer == gzip_bomb[:MAX_ANSWER_BYTES]  # the raw bytes' prefix, not decoded
    assert took < 2.0


def test_a_huge_answer_is_read_only_to_a_prefix() -> None:
    sender = Sender(allow_private=True)
    huge = Reply(500, {"Content-Length": str(1024 * MIB)}, itertools.repeat(bytes(MIB), 256))
    with receiver([huge]) as hook:
        outcome, took, peak = _measured(lambda: sender.send(hook.url, BODY, _headers(webhooks.new_secret())))
    assert peak < 4 * MIB, f"{peak / MIB:.1f} MiB held while the receiver wrote {hook.bytes_written // MIB} MiB"
    assert outcome.status_code == 500 and not outcome.delivered and len(outcome.answer) == MAX_ANSWER_BYTES
    assert took < 2.0 and hook.bytes_written < 64 * MIB  # it hung up instead of draining the answer


# --- one deadline for the whole attempt ---------------------------------------------------------------


def test_a_receiver_trickling_its_answer_head_is_cut_at_the_deadline() -> None:
    sender = Sender(allow_private=True, timeout_seconds=1)
    trickle = Reply(chunks=[HEAD[i:i + 1] for i in range(len(HEAD))], every=0.3, raw=True)  # 20 s of it
    with receiver([trickle]) as hook:
        began = time.monotonic()
        outcome = sender.send(hook.url, BODY, _headers(webhooks.new_secret()))
        took = time.monotonic() - began
    assert took < 1.5, took
    assert not outcome.delivered and outcome.status_code is None and outcome.error == "no answer within 1 s"


def test_a_2xx_whose_body_trickles_is_delivered_at_the_deadline() -> None:
    sender = Sender(allow_private=True, timeout_seconds=1)
    trickle = Reply(200, {"Content-Length": "100"}, [b"x"] * 100, every=0.3)
    with receiver([trickle]) as hook:
        began = time.monotonic()
        outcome = sender.send(hook.url, BODY, _headers(webhooks.new_secret()))
        took = time.monotonic() - began
    assert took < 1.5, took
    assert outcome.delivered and outcome.status_code == 200 and outcome.answer.startswith(b"x")


def test_a_slow_name_lookup_counts_against_the_same_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_resolver(host: str, port: int, *, allow_private: bool):  # noqa: ANN202 - as addresses.resolve
        time.sleep(3)  # a resolver waiting on a DNS server that answers slowly
        raise OSError("no answer")

    monkeypatch.setattr(addresses, "resolve", slow_resolver)
    began = time.monotonic()
    outcome = Sender(allow_private=True, timeout_seconds=0.5).send("http://hooks.example/x", BODY, {})
    assert time.monotonic() - began < 1.0
    assert outcome.error == "no answer within 0.5 s"


# --- URLs no attempt could ever use ---------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://0127.0.0.1:9/x", "http://08.0.0.1:9/",
                                 "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:9/", "http://127.0.0.1..:9/",
                                 "http://127.0.0.1:9/\x01", "http://127.0.0.1:9/\x00",
                                 "http://[fe80::1%25lo]:9/", "http://127.0.0.1:99999/"])
def test_an_unusable_url_is_a_final_failed_attempt_without_a_connection(url: str) -> None:
    outcome = Sender(allow_private=True).send(url, BODY, {})
    assert outcome.final and outcome.status_code is None and outcome.error.startswith("unusable URL: ")


def test_a_refused_literal_address_is_final_but_a_refused_name_may_change() -> None:
    literal = Sender(allow_private=False).send("http://[fec0::1]:9/x", BODY, {})
    name = Sender(allow_private=False).send("http://localhost:9/x", BODY, {})
    assert literal.final and literal.error.startswith("refused: fec0::1 is not a public address")
    assert not name.final and name.error.startswith("refused: localhost resolves to")
