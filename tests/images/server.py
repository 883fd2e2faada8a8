"""A real HTTP server on 127.0.0.1 that answers GETs from a table of pages and records what was asked."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from tests.loopback import QuietHandler, serving_on_loopback


@dataclass(frozen=True)
class Page:
    """One answer. `body` goes with a Content-Length; `stream` (called per request) is written chunk by chunk,
    `every` seconds before each, until the client hangs up, and the connection closed after it. `stall`:
    seconds before the status line."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Callable[[], Iterable[bytes]] | None = None
    every: float = 0.0
    stall: float = 0.0


@dataclass
class Server:
    base: str  # http://127.0.0.1:<port>
    pages: dict[str, Page]
    asked: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, headers) of each request
    bytes_written: int = 0  # of streamed pages, all requests together
    finished: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))  # one per request
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_written(self, size: int) -> None:
        with self.lock:
            self.bytes_written += size

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.asked]

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> None:
        """Until `count` requests have been answered in full (or the client hung up on them)."""
        for _ in range(count):
            assert self.finished.acquire(timeout=timeout), f"a request was still being answered after {timeout} s"


@contextlib.contextmanager
def serving(pages: dict[str, Page], *, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    """Serves `pages` on 127.0.0.1 (over TLS with `tls`); `base` is http:// or https:// accordingly."""
    state = Server("", pages)

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            with state.lock:
                state.asked.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            try:
                self._answer(state.pages.get(self.path, Page(404, body=b"not here")))
            finally:
                state.finished.release()

        def _answer(self, page: Page) -> None:
            time.sleep(page.stall)
            with contextlib.suppress(OSError):  # the client hung up: what it meant to do
                self.send_response(page.status)
                for name, value in page.headers.items():
                    self.send_header(name, value)
                if page.stream is None:
                    self.send_header("Content-Length", str(len(page.body)))
                    self.end_headers()
                    self.wfile.write(page.body)
                    return
                self.close_connection = True
                self.end_headers()
                self.trickle(page.stream(), page.every, state.count_written)

    with serving_on_loopback(Handler, tls=tls, poll_interval=0.05) as port:
        state.base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        yield state
