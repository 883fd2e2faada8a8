"""A real HTTP receiver on 127.0.0.1 that answers from a script and records what it was sent."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


Answer = int | tuple[int, dict[str, str]] | float  # a status, a status and headers, or seconds to stall, then 200


@dataclass
class Receiver:
    url: str
    answers: list[Answer]
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextlib.contextmanager
def receiver(answers: list | None = None, decide: Callable[[Received], Answer] | None = None) -> Iterator[Receiver]:
    """Answers in turn from `answers` (the last one repeats; default 200), or what `decide` says of
    each request (called from the request's own thread)."""
    state = Receiver("", list(answers or [200]))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with state.lock:
                state.received.append(got)
                if decide is None:
                    answer = state.answers.pop(0) if len(state.answers) > 1 else state.answers[0]
            if decide is not None:
                answer = decide(got)
            if isinstance(answer, float):
                time.sleep(answer)
                answer = 200
            status, headers = answer if isinstance(answer, tuple) else (answer, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(b"ok")

        def log_message(self, *args) -> None:  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/reelserve"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
