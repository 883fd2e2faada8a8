"""One delivery attempt: parse and resolve once, check the address, connect to exactly that address, no
redirects, all of it within one deadline, and no more of the answer read than the log keeps."""

from __future__ import annotations

import functools
import time

import anyio
import anyio.to_thread
import httpx

from reelserve import addresses
from reelserve.store import WebhookAttempt, utcnow

USER_AGENT = "reelserve-webhooks/1"
MAX_ANSWER_BYTES = 1024  # of a receiver's answer body, kept for the log: enough to see why it said no


class Began:
    """When an attempt began: the wall time it is recorded at, and the clock its latency is measured on."""

    def __init__(self) -> None:
        self.at = utcnow()
        self._counter = time.perf_counter()

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self._counter) * 1000, 1)  # what the attempt log keeps

    def seconds_left(self, deadline_seconds: float) -> float:
        return self._counter + deadline_seconds - time.perf_counter()


class Sender:
    """Sends signed bodies; thread-safe (each attempt runs on an event loop of its own).

    The URL is parsed by the one webhook URL parser (reelserve.addresses.parse_webhook_url, which also
    checks URLs at submit), its host resolved here, once, and checked against the address rules; the
    request then goes to that address, with the original name in `Host` and, for https, in the TLS
    handshake (SNI, and the certificate is checked against the name). DNS therefore cannot answer one
    address to the check and another to the connection. Redirects are not followed: a 3xx is a failed
    attempt, like any other non-2xx. Proxy variables from the environment are ignored.

    `timeout_seconds` bounds the whole attempt (resolve, connect, send, answer): httpx's own timeouts
    apply to each read, so a receiver trickling a byte at a time would otherwise hold an attempt for
    as long as it likes. The attempt runs under an anyio deadline, which cancels whatever it is waiting
    on. The answer is asked for uncompressed, and only its first MAX_ANSWER_BYTES are read."""

    def __init__(self, *, timeout_seconds: float = 10.0, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self.deadline_seconds = timeout_seconds
        self._tls = httpx.create_ssl_context(trust_env=False)  # built once: loading the CA bundle is slow

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> WebhookAttempt:
        """One attempt, not yet numbered: the deliverer, which knows the event, numbers it."""
        began = Began()
        try:
            target = addresses.parse_webhook_url(url, allow_private=self.allow_private)
        except addresses.AddressRefused as exc:
            return _failed(began, f"refused: {exc}", final=True)
        except addresses.UrlRefused as exc:
            return _failed(began, f"unusable URL: it {exc}", final=True)
        return anyio.run(self._attempt, target, body, headers, began)

    async def _attempt(self, target: addresses.WebhookTarget, body: bytes, headers: dict[str, str],
                       began: Began) -> WebhookAttempt:
        async with httpx.AsyncClient(verify=self._tls, timeout=self.deadline_seconds, follow_redirects=False,
                                     trust_env=False, headers={"User-Agent": USER_AGENT}) as client:
            try:
                with anyio.fail_after(self.deadline_seconds):
                    address = await self._resolve(target)
                    response = await client.send(_request(client, target, address, body, headers), stream=True)
            except (TimeoutError, httpx.TimeoutException):  # before OSError, which TimeoutError is
                return _failed(began, f"no answer within {self.deadline_seconds:g} s")
            except addresses.AddressRefused as exc:
                return _failed(began, f"refused: {exc}")  # a name: DNS may answer otherwise later
            except OSError as exc:
                return _failed(began, f"{target.host} did not resolve: {exc}")
            except httpx.HTTPError as exc:
                return _failed(began, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            try:
                answer = await _answer_prefix(response, began.seconds_left(self.deadline_seconds))
            finally:
                await response.aclose()  # the rest is never read: the connection is closed, not drained
        return WebhookAttempt(began.at, response.status_code, began.elapsed_ms(), answer=answer)

    async def _resolve(self, target: addresses.WebhookTarget) -> addresses.IPAddress:
        # In a worker thread the deadline can abandon: getaddrinfo itself cannot be interrupted.
        resolve = functools.partial(addresses.resolve, target.host, target.port, allow_private=self.allow_private)
        return await anyio.to_thread.run_sync(resolve, abandon_on_cancel=True)


def _request(client: httpx.AsyncClient, target: addresses.WebhookTarget, address: addresses.IPAddress, body: bytes,
             headers: dict[str, str]) -> httpx.Request:
    """The POST to the checked address, named as the URL names it (Host, and SNI for https)."""
    return client.build_request(
        "POST", target.url.copy_with(host=str(address)), content=body,
        headers={**headers, "Host": target.url.netloc.decode("ascii"), "Content-Type": "application/json",
                 "Accept-Encoding": "identity"},
        extensions={"sni_hostname": target.host})


async def _answer_prefix(response: httpx.Response, seconds_left: float) -> bytes:
    """Up to MAX_ANSWER_BYTES of the body as it came (`aiter_raw`: a gzip bomb is never inflated), for
    what is left of the deadline: the status already decided the attempt, so a slow body only shortens
    what the log keeps."""
    kept = bytearray()
    with anyio.move_on_after(seconds_left):
        async for chunk in response.aiter_raw():
            kept += chunk[:MAX_ANSWER_BYTES - len(kept)]
            if len(kept) >= MAX_ANSWER_BYTES:
                break
    return bytes(kept)


def _failed(began: Began, error: str, *, final: bool = False) -> WebhookAttempt:
    return WebhookAttempt(began.at, None, began.elapsed_ms(), error, final=final)
