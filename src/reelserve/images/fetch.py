"""An input image's URL -> its bytes, fetched once at submit, the way the webhook sender connects out.

Each URL, the first and every redirect's, is parsed by the one URL parser (reelserve.addresses.parse_url),
its host resolved here, once, and checked against the address rules; the request then goes to exactly
that address, with the original name in `Host` and, for https, in the TLS handshake (SNI, and the
certificate is checked against the name). DNS therefore cannot answer one address to the check and
another to the connection, and a redirect cannot lead where the first URL could not. Proxy variables
from the environment are ignored.

One deadline bounds the whole fetch (resolve, connect, every hop, the body): httpx's own timeouts apply
to each read, so a server trickling a byte at a time would otherwise hold a submit for as long as it
likes. The body is asked for uncompressed, read as it came (never inflated), and reading stops past
MAX_IMAGE_BYTES.
"""

from __future__ import annotations

import functools

import anyio
import anyio.to_thread
import httpx

from reelserve import addresses
from reelserve.errors import InputImageError
from reelserve.images.problems import ImageProblem

MAX_IMAGE_BYTES = 50 * 1024 * 1024  # a 4K image is a few MB; 50 MB covers an uncompressed PNG of one
MAX_REDIRECTS = 3
DEADLINE_SECONDS = 20.0
USER_AGENT = "reelserve-images/1"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CREDENTIALS_ADVICE = "give a URL that is fetchable without logging in (a public or pre-signed URL)"
PRIVATE_ADVICE = ("images are fetched only from public addresses (an operator can allow private ones with "
                  "REELSERVE_MEDIA_ALLOW_PRIVATE=true)")


class ImageFetcher:
    """Fetches input images; thread-safe (each sync fetch runs on an event loop of its own), so the API
    calls `fetch` in a worker thread, off its own loop. Every refusal is an InputImageError."""

    def __init__(self, *, allow_private: bool = False, deadline_seconds: float = DEADLINE_SECONDS) -> None:
        self.allow_private = allow_private
        self.deadline_seconds = deadline_seconds
        self._tls = httpx.create_ssl_context(trust_env=False)  # built once: loading the CA bundle is slow

    def fetch(self, url: str) -> bytes:
        """The bytes at `url`, on an event loop of this thread's own."""
        return anyio.run(self.fetch_async, url)

    async def fetch_async(self, url: str) -> bytes:
        target = self.parse(url)
        try:
            with anyio.fail_after(self.deadline_seconds):
                async with httpx.AsyncClient(verify=self._tls, timeout=self.deadline_seconds, follow_redirects=False,
                                             trust_env=False, headers={"User-Agent": USER_AGENT}) as client:
                    return await self._follow(client, target)
        except (TimeoutError, httpx.TimeoutException) as exc:  # before OSError, which TimeoutError is
            raise InputImageError(f"could not be fetched within {self.deadline_seconds:g} s",
                                  ImageProblem.TIMEOUT) from exc
        except httpx.HTTPError as exc:  # no connection, TLS refused, a broken answer
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise InputImageError(f"could not be fetched ({why})", ImageProblem.UNREACHABLE) from exc

    def parse(self, url: str, *, redirect: bool = False) -> addresses.UrlTarget:
        """`url` checked by the address rules, as it will be fetched; InputImageError when it never could be.
        At submit, before anything is fetched, this refuses a URL whose form or literal address is refused."""
        lead = f"was redirected to {url!r}, which " if redirect else ""
        try:
            return addresses.parse_url(url, allow_private=self.allow_private, credentials_advice=CREDENTIALS_ADVICE)
        except addresses.AddressRefused as exc:
            raise InputImageError(f"{lead}is refused: {exc}; {PRIVATE_ADVICE}", exc.code) from exc
        except addresses.UrlRefused as exc:
            raise InputImageError(f"{lead}{exc}", exc.code) from exc

    async def _follow(self, client: httpx.AsyncClient, target: addresses.UrlTarget) -> bytes:
        for _hop in range(MAX_REDIRECTS + 1):
            response = await client.send(_request(client, target, await self._resolve(target)), stream=True)
            try:
                if response.status_code in REDIRECT_STATUSES:
                    target = self.next_target(target, response)
                    continue
                _check_status(response)
                return await _body(response)
            finally:
                await response.aclose()  # a redirect's body is never read: the connection is closed, not drained
        raise InputImageError(f"was redirected more than {MAX_REDIRECTS} times", ImageProblem.REDIRECTS)

    def next_target(self, target: addresses.UrlTarget, response: httpx.Response) -> addresses.UrlTarget:
        """Where a redirect from `target` points, parsed and checked as a first URL is; InputImageError when
        it may not be followed. A name in it is resolved and judged when it is fetched, as any name is."""
        location = response.headers.get("Location")
        if not location:
            raise InputImageError(f"answered HTTP {response.status_code}, a redirect without a Location",
                                  ImageProblem.REDIRECTS)
        try:
            url = str(target.url.join(location))  # a relative Location is relative to the URL, not the address
        except httpx.InvalidURL:
            url = location  # parse() refuses it, saying why
        return self.parse(url, redirect=True)

    async def _resolve(self, target: addresses.UrlTarget) -> addresses.IPAddress:
        # In a worker thread the deadline can abandon: getaddrinfo itself cannot be interrupted.
        resolve = functools.partial(addresses.resolve, target.host, target.port, allow_private=self.allow_private)
        try:
            return await anyio.to_thread.run_sync(resolve, abandon_on_cancel=True)
        except addresses.AddressRefused as exc:
            raise InputImageError(f"is refused: {exc}; {PRIVATE_ADVICE}", exc.code) from exc
        except OSError as exc:
            raise InputImageError(f"names the host {target.host}, which did not resolve ({exc})",
                                  ImageProblem.UNREACHABLE) from exc


def _request(client: httpx.AsyncClient, target: addresses.UrlTarget, address: addresses.IPAddress) -> httpx.Request:
    """The GET to the checked address, named as the URL names it (Host, and SNI for https)."""
    return client.build_request(
        "GET", target.url.copy_with(host=str(address)),
        headers={"Host": target.url.netloc.decode("ascii"), "Accept": "image/jpeg, image/png, image/webp",
                 "Accept-Encoding": "identity"},
        extensions={"sni_hostname": target.host})


def _check_status(response: httpx.Response) -> None:
    if not response.is_success:
        said = f"{response.status_code} {response.reason_phrase}".rstrip()
        raise InputImageError(f"answered HTTP {said}; give a URL that answers 200 with the image", ImageProblem.STATUS)


async def _body(response: httpx.Response) -> bytes:
    """The body as sent (`aiter_raw`: a gzip bomb is never inflated), refused past MAX_IMAGE_BYTES."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_IMAGE_BYTES:
        raise _too_large(f"declares {int(declared):,} bytes")  # refused before a byte of it is read
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > MAX_IMAGE_BYTES:
            raise _too_large(f"sent more than {MAX_IMAGE_BYTES:,} bytes")
    return bytes(body)


def _too_large(what: str) -> InputImageError:
    return InputImageError(f"{what}; an image may have at most {MAX_IMAGE_BYTES:,} bytes "
                           f"({MAX_IMAGE_BYTES // 2**20} MiB)", ImageProblem.TOO_LARGE)
