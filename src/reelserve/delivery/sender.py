"""One delivery attempt: resolve once, check the address, connect to exactly that address, no redirects."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from reelserve import addresses
from reelserve.store import delivers

USER_AGENT = "reelserve-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: a status code, or an error (refused, unresolvable, timeout, connection)."""

    status_code: int | None
    latency_ms: float
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return delivers(self.status_code)


class Sender:
    """Sends signed bodies; thread-safe (one connection pool, shared by the delivery threads).

    The URL's host is resolved here, once, and checked against the address rules (reelserve.addresses);
    the request then goes to that address, with the original name in `Host` and, for https, in the
    TLS handshake (SNI, and the certificate is checked against the name). DNS therefore cannot answer
    one address to the check and another to the connection. Redirects are not followed: a 3xx is a
    failed attempt, like any other non-2xx. Proxy variables from the environment are ignored."""

    def __init__(self, *, timeout_seconds: float = 10.0, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self._client = httpx.Client(timeout=timeout_seconds, follow_redirects=False, trust_env=False,
                                    headers={"User-Agent": USER_AGENT})
        self._timeout = timeout_seconds

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        began = time.perf_counter()

        def failed(error: str) -> Outcome:
            return Outcome(None, (time.perf_counter() - began) * 1000, error)

        target = httpx.URL(url)
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            address = addresses.resolve(target.host, port, allow_private=self.allow_private)
        except addresses.AddressRefused as exc:
            return failed(f"refused: {exc}")
        except OSError as exc:
            return failed(f"{target.host} did not resolve: {exc}")
        pinned = target.copy_with(host=str(address))
        host_header = target.host if target.port is None else f"{target.host}:{target.port}"
        request = self._client.build_request(
            "POST", pinned, content=body,
            headers={**headers, "Host": host_header, "Content-Type": "application/json"},
            extensions={"sni_hostname": target.host})  # the client's timeout applies as well
        try:
            response = self._client.send(request)
            response.close()  # the receiver's answer body is not needed, and may be large
        except httpx.TimeoutException:
            return failed(f"no answer within {self._timeout:g} s")
        except httpx.HTTPError as exc:
            return failed(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return Outcome(response.status_code, (time.perf_counter() - began) * 1000)

    def close(self) -> None:
        self._client.close()
