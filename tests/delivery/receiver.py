"""A real HTTP receiver on 127.0.0.1 that answers from a script and records what it was sent."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from tests.loopback import QuietHandler, serving_on_loopback


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """An answer written piece by piece: `chunks` with `every` seconds before each one. With `raw`, the
    chunks are the whole response, status line and headers included (to trickle the head itself);
    otherwise they are the body, after `status` and `headers`. Writing stops when the sender hangs up."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] = (b"ok",)
    every: float = 0.0
    raw: bool = False


# A status, a status and headers, seconds to stall and then 200, or a Reply.
Answer = int | tuple[int, dict[str, str]] | float | Reply


@dataclass
class Receiver:
    url: str
    answers: list[Answer]
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: Counter[str] = field(default_factory=Counter)  # requests being answered, by webhook-id
    most_at_once: Counter[str] = field(default_factory=Counter)  # the most ever answered at once, by webhook-id
    bytes_written: int = 0  # of Reply answers, all requests together

    def count_written(self, size: int) -> None:
        with self.lock:
            self.bytes_written += size


@contextlib.contextmanager
def receiver(answers: list | None = None, decide: Callable[[Received], Answer] | None = None) -> Iterator[Receiver]:
    """Answers in turn from `answers` (the last one repeats; default 200), or what `decide` says of
    each request (called from the request's own thread)."""
    state = Receiver("", list(answers or [200]))

    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            hook_id = got.headers.get("webhook-id", "")
            with state.lock:
                state.received.append(got)
                state.in_flight[hook_id] += 1
                state.most_at_once[hook_id] = max(state.most_at_once[hook_id], state.in_flight[hook_id])
                if decide is None:
                    answer = state.answers.pop(0) if len(state.answers) > 1 else state.answers[0]
            try:
                self._answer(decide(got) if decide is not None else answer)
            finally:
                with state.lock:
                    state.in_flight[hook_id] -= 1

        def _answer(self, answer: Answer) -> None:
            if isinstance(answer, Reply):
                return self._reply(answer)
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

        def _reply(self, reply: Reply) -> None:
            self.close_connection = True
            if not reply.raw:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
            with contextlib.suppress(OSError):  # the sender hung up: what it meant to do
                self.trickle(reply.chunks, reply.every, state.count_written)

    with serving_on_loopback(Handler) as port:
        state.url = f"http://127.0.0.1:{port}/hooks/reelserve"
        yield state
