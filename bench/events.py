"""What open event streams cost the API: `python bench/events.py [--streams 100] [--requests 1500]`.

Status-poll latency through `reelserve serve --no-worker` with no stream open, then with `--streams`
streams open on queued requests (GET /v1/requests/{id}/events), in alternating rounds, on SQLite
and on PostgreSQL when reachable. In every round a churn thread cancels one of the requests queued
ahead of the followed ones `--churn` times a second, as a worker's claim would: the queue moves,
so every open stream is woken, re-reads its job and sends its new position. The streams cost what
they cost in use, not idle.

The streams are held by a separate process (one asyncio loop), so their reading does not compete
with the poll load generator for this process's interpreter. Compare the ratios: the goal is that
the streams raise p50 by at most 20%.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

import pg
from api import MODEL, _load, _reelserve


def main() -> None:
    args = _parse_args()
    postgres = pg.reachable()
    print(f"# reelserve bench/events.py  streams={args.streams} requests={args.requests} rounds={args.rounds} "
          f"churn={args.churn}/s postgres={'yes' if postgres else 'no'} python={platform.python_version()} "
          f"cpus={os.cpu_count()}")
    print(f"{'store':<10}{'streams':>8}{'polls/s':>9}{'p50_ms':>8}{'p99_ms':>8}{'p50_vs_none':>13}{'events/s':>10}")
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        stores = {"sqlite": {}}
        if postgres:
            stores["postgres"] = {"database_url": stack.enter_context(pg.temporary_schema())}
        for name, settings in stores.items():
            base, key = stack.enter_context(_reelserve(Path(scratch) / name, Path(args.cache_dir).expanduser(),
                                                       worker=False, **settings))
            _compare(name, base, key, args)


def _compare(name: str, base: str, key: str, args: argparse.Namespace) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(headers=auth, timeout=30) as client:
        ahead = [_submit(client, base, "ahead") for _ in range(args.ahead)]
        followed = [_submit(client, base, f"stream {n}") for n in range(args.streams)]
    rows: dict[int, list[tuple[list[float], float]]] = {0: [], args.streams: []}
    for _ in range(args.rounds):
        for streams in rows:
            with _churning(base, auth, args.churn, ahead), _Holder(base, key, followed[:streams]) as holder:
                latencies = _load("status poll", base, key, args)
                events_per_second = holder.rate()
            rows[streams].append((latencies, events_per_second))
    none_p50 = None
    for streams, rounds in rows.items():
        rate = statistics.median(len(r) / r[-1] for r, _ in rounds)
        latencies = sorted(x for r, _ in rounds for x in r[:-1])
        p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
        none_p50 = none_p50 or p50
        events = statistics.median(e for _, e in rounds)
        print(f"{name:<10}{streams:>8}{rate:>9.0f}{p50 * 1000:>8.1f}{p99 * 1000:>8.1f}{p50 / none_p50:>13.2f}"
              f"{events:>10.1f}")


def _submit(client: httpx.Client, base: str, prompt: str) -> str:
    return client.post(f"{base}/v1/models/{MODEL}", json={"prompt": prompt}).json()["request_id"]


@contextlib.contextmanager
def _churning(base: str, auth: dict[str, str], per_second: float, ahead: list[str]):
    """Cancel a request queued ahead of the followed ones `per_second` times a second (when none is
    left, one submitted at the back): each cancel moves the queue."""
    stop = threading.Event()

    def churn() -> None:
        with httpx.Client(headers=auth, timeout=30) as client:
            while not stop.wait(1 / per_second):
                request_id = ahead.pop(0) if ahead else _submit(client, base, "churn")
                client.post(f"{base}/v1/requests/{request_id}/cancel")

    thread = threading.Thread(target=churn, daemon=True)
    if per_second > 0:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()


class _Holder:
    def __init__(self, base: str, key: str, ids: list[str]) -> None:
        self._count = multiprocessing.Value("l", 0)
        self._open = multiprocessing.Value("l", 0)
        self._stop = multiprocessing.Event()
        self._process = multiprocessing.Process(target=_hold, args=(base, key, ids, self._count, self._open, self._stop))
        self._wanted = len(ids)
        self._began = 0.0

    def __enter__(self) -> _Holder:
        if self._wanted:
            self._process.start()
            deadline = time.monotonic() + 60
            while self._count.value < self._wanted:  # every stream open, its first event in
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {self._open.value} of {self._wanted} streams opened")
                time.sleep(0.05)
        self._began, self._start_count = time.monotonic(), self._count.value
        return self

    def rate(self) -> float:
        return (self._count.value - self._start_count) / max(1e-9, time.monotonic() - self._began)

    def __exit__(self, *exc: object) -> None:
        if self._wanted:
            self._stop.set()
            self._process.join(30)
            if self._process.is_alive():
                self._process.kill()


def _hold(base: str, key: str, ids: list[str], count, opened, stop) -> None:  # noqa: ANN001 - shared values
    async def follow(client: httpx.AsyncClient, request_id: str) -> None:
        async with client.stream("GET", f"{base}/v1/requests/{request_id}/events") as stream:
            with opened.get_lock():
                opened.value += 1
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    with count.get_lock():
                        count.value += 1

    async def run() -> None:
        limits = httpx.Limits(max_connections=len(ids) + 10)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=None, limits=limits) as client:
            tasks = [asyncio.create_task(follow(client, request_id)) for request_id in ids]
            while not stop.is_set():
                await asyncio.sleep(0.1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=100, help="event streams held open in the second kind of round")
    parser.add_argument("--requests", type=int, default=1500, help="status polls per round")
    parser.add_argument("--concurrency", type=int, default=8, help="connections the poll load generator keeps open")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind, alternated")
    parser.add_argument("--churn", type=float, default=2.0, help="queue moves (cancels ahead) a second, every round")
    parser.add_argument("--ahead", type=int, default=300, help="requests queued ahead of the followed ones")
    parser.add_argument("--cache-dir", default="~/.cache/reelserve", help="unused by --no-worker; kept for _reelserve")
    return parser.parse_args()


if __name__ == "__main__":
    main()
