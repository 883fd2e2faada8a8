"""What the tests' own HTTP servers share (tests/delivery/receiver.py, tests/images/server.py): a handler
that logs nothing and can trickle an answer, and a threaded server on 127.0.0.1 for the length of a block."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def trickle(self, chunks: Iterable[bytes], every: float, counted: Callable[[int], None]) -> None:
        """Each chunk `every` seconds after the last, `counted` told of each chunk's size once it is written."""
        for chunk in chunks:
            time.sleep(every)
            self.wfile.write(chunk)
            counted(len(chunk))

    def log_message(self, *args) -> None:  # quiet
        pass


@contextlib.contextmanager
def serving_on_loopback(handler: type[QuietHandler], *, tls: ssl.SSLContext | None = None,
                        poll_interval: float = 0.5) -> Iterator[int]:
    """`handler` served on 127.0.0.1 (over TLS with `tls`) until the block ends; yields the port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:  # the handshake runs in each request's own thread, at its first read
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
