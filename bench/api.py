"""What the service costs on top of the engine: `python bench/api.py [--requests 2000] [--concurrency 16]`.

Three measurements, each side by side in one run, each printed as a ratio:

1. Throughput and latency of status polls and submits through `reelserve serve --no-worker` (on
   SQLite, and on PostgreSQL when reachable), against bench/bare_app.py: the same routes on the
   same FastAPI + uvicorn stack doing no work, the ceiling. Rounds alternate between targets.
2. Queue pickup latency: submit to `in_progress` with an idle worker: in the server's process or a
   `reelserve worker` beside it on SQLite (woken by a datagram, store/wake.py; polling every
   `worker_poll_seconds` is the fallback), and in-process on PostgreSQL (woken by NOTIFY).
3. Service overhead: one tiny-weights request end to end through the API (submit, polls, result,
   download) ÷ the same request called directly on the engine in this process (generate + mux).

The load generator runs on the same machine (threads over http.client) and costs the same for every target,
so compare ratios, not absolute rates. Tiny random weights: the videos are noise, the timings real.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx

import pg
from reelserve.catalog import RECIPES, input_model_for
from reelserve.engines.base import GenerationSpec
from reelserve.engines.ltx2 import Ltx2Engine
from reelserve.engines.ltx2.families import DEFAULT_FAMILY, family_named
from reelserve.engines.ltx2.tiny import ensure_tiny_weights
from reelserve.media import write_mp4

MODEL = "kling/kling-3.0/standard/text-to-video"
BODY = {"prompt": "a lighthouse at dusk", "duration": 3, "aspect_ratio": "16:9", "sound": True, "seed": 7}
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    args = _parse_args()
    cache = Path(args.cache_dir).expanduser()
    ensure_tiny_weights(cache, family_named(DEFAULT_FAMILY))  # what the servers it starts load
    postgres = pg.reachable()
    print(f"# reelserve bench/api.py  requests={args.requests} concurrency={args.concurrency} rounds={args.rounds} "
          f"postgres={'yes' if postgres else 'no'} python={platform.python_version()} host={platform.node()} "
          f"cpus={os.cpu_count()}")
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        scratch = Path(scratch)
        targets = {"bare FastAPI": stack.enter_context(_bare_server(scratch))}
        targets["reelserve/sqlite"] = stack.enter_context(_reelserve(scratch / "sqlite", cache, worker=False))
        if postgres:
            url = stack.enter_context(pg.temporary_schema())
            targets["reelserve/postgres"] = stack.enter_context(_reelserve(scratch / "pg", cache, worker=False,
                                                                           database_url=url))
        _throughput(targets, args)
        stack.close()
        # (on PostgreSQL, worker in its own process)
        stores = {"sqlite, in-process": (False, False), "sqlite, worker process": (False, True),
                  **({"postgres (NOTIFY)": (True, False)} if postgres else {})}
        _pickup_and_overhead(scratch, cache, stores, args)


# --- 1. throughput ----------------------------------------------------------------------------------


def _throughput(targets: dict[str, tuple[str, str | None]], args: argparse.Namespace) -> None:
    results: dict[tuple[str, str], list[list[float]]] = {}
    for _ in range(args.rounds):
        for kind in ("status poll", "submit"):
            for name, (base, key) in targets.items():
                results.setdefault((kind, name), []).append(_load(kind, base, key, args))
    print(f"{'endpoint':<13}{'target':<20}{'req/s':>8}{'p50_ms':>9}{'p99_ms':>9}{'vs_bare':>9}")
    for kind in ("status poll", "submit"):
        bare_rate = None
        for name in targets:
            rounds = results[(kind, name)]
            rate = statistics.median(len(r) / r[-1] for r in rounds)  # r[-1] holds the round's wall time
            latencies = sorted(x for r in rounds for x in r[:-1])
            bare_rate = bare_rate or rate
            p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
            print(f"{kind:<13}{name:<20}{rate:>8.0f}{p50 * 1000:>9.1f}{p99 * 1000:>9.1f}{rate / bare_rate:>9.2f}")


def _load(kind: str, base: str, key: str | None, args: argparse.Namespace) -> list[float]:
    """`args.requests` requests over `args.concurrency` keep-alive connections: each latency, then the wall time.

    Plain http.client in threads: about four times the rate httpx's async client reaches on
    these two cores, so the bare app's ceiling is the server's more than the load generator's.
    """
    host, port = base.removeprefix("http://").split(":")
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    body = json.dumps(BODY)
    poll_id = _call(http.client.HTTPConnection(host, int(port)), "POST", f"/v1/models/{MODEL}", body, headers)
    left, lock, latencies = [args.requests], threading.Lock(), []

    def connection() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            began = time.perf_counter()
            if kind == "submit":
                _call(conn, "POST", f"/v1/models/{MODEL}", body, headers)
            else:
                _call(conn, "GET", f"/v1/requests/{poll_id}/status", None, headers)
            latencies.append(time.perf_counter() - began)
        conn.close()

    threads = [threading.Thread(target=connection) for _ in range(args.concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [*latencies, time.perf_counter() - began]


def _call(conn: http.client.HTTPConnection, method: str, path: str, body: str | None, headers: dict) -> str:
    conn.request(method, path, body=body, headers=headers)
    answer = conn.getresponse()
    payload = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"{method} {path}: {answer.status} {payload[:200]!r}")
    return json.loads(payload)["request_id"]


# --- 2 and 3. pickup latency and service overhead --------------------------------------------------


def _pickup_and_overhead(scratch: Path, cache: Path, stores: dict[str, tuple[bool, bool]],
                         args: argparse.Namespace) -> None:
    """`stores` maps a label to (on PostgreSQL, else SQLite; the worker in a process of its own)."""
    engine = Ltx2Engine.load("tiny", device="cpu", cache_dir=cache)
    pickup: dict[str, list[float]] = {}
    server_side: dict[str, list[float]] = {}
    through_api: dict[str, list[float]] = {}
    direct: list[float] = []
    for name, (on_postgres, separate) in stores.items():
        with contextlib.ExitStack() as stack:
            settings = {"database_url": stack.enter_context(pg.temporary_schema())} if on_postgres else {}
            base, key = stack.enter_context(_reelserve(scratch / f"worker-{len(pickup)}", cache, worker=True,
                                                       separate_worker=separate, **settings))
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                _request(client, scratch)  # warm-up: first request pays lazy imports and caches
                for _ in range(args.samples):
                    direct.append(_direct(engine, scratch))
                    seconds, picked, started = _request(client, scratch)
                    through_api.setdefault(name, []).append(seconds)
                    pickup.setdefault(name, []).append(picked)
                    server_side.setdefault(name, []).append(started)
    print("pickup: submit -> in_progress with an idle worker (status polled every 2 ms; "
          "server: the row's started_at - created_at)")
    for name, values in pickup.items():
        server = server_side[name]
        print(f"  {name:<24} p50 {statistics.median(values) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms"
              f"   server p50 {statistics.median(server) * 1000:5.1f} ms   max {max(server) * 1000:5.1f} ms")
    alone = statistics.median(direct)
    print(f"overhead: a {BODY['duration']} s tiny-weights request, engine called directly {alone:.3f} s")
    for name, values in through_api.items():
        api = statistics.median(values)
        print(f"  through the API, {name:<24} {api:.3f} s   ratio {api / alone:.2f}")
    print("# random weights: the videos are noise; sizes, durations and timings are real")


def _request(client: httpx.Client, scratch: Path) -> tuple[float, float, float]:
    """Submit, poll to completion, fetch the result and the video: (end-to-end seconds, pickup seconds as
    the polling client saw it, pickup seconds as the row records it, which no poll interval inflates)."""
    began = time.perf_counter()
    request_id = client.post(f"/v1/models/{MODEL}", json=BODY).raise_for_status().json()["request_id"]
    picked = None
    while True:
        status = client.get(f"/v1/requests/{request_id}/status").json()["status"]
        if picked is None and status != "in_queue":
            picked = time.perf_counter() - began
        if status in ("completed", "failed", "cancelled"):
            break
        # 2 ms until picked up, for a precise pickup figure; then 20 ms, as polling at 500/s would
        # take CPU from the engine on this same machine and inflate the overhead.
        time.sleep(0.002 if picked is None else 0.02)
    result = client.get(f"/v1/requests/{request_id}/result").json()
    assert result["status"] == "completed", result
    (scratch / "api.mp4").write_bytes(httpx.get(result["output"]["video"]).raise_for_status().content)
    started = datetime.fromisoformat(result["started_at"]) - datetime.fromisoformat(result["created_at"])
    return time.perf_counter() - began, picked, started.total_seconds()


def _direct(engine: Ltx2Engine, scratch: Path) -> float:
    recipe = RECIPES[MODEL]
    spec = GenerationSpec.from_request(recipe, input_model_for(recipe).model_validate(BODY))  # BODY names its seed
    began = time.perf_counter()
    write_mp4(engine.generate(spec), scratch / "direct.mp4")
    return time.perf_counter() - began


# --- servers ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _bare_server(scratch: Path) -> Iterator[tuple[str, None]]:
    port = _free_port()
    with _process([sys.executable, str(ROOT / "bench" / "bare_app.py"), str(port)], scratch / "bare.log", os.environ):
        base = f"http://127.0.0.1:{port}"
        _wait(lambda: httpx.get(f"{base}/v1/requests/x/status", timeout=1).status_code == 200)
        yield base, None


@contextlib.contextmanager
def _reelserve(data_dir: Path, cache: Path, *, worker: bool, separate_worker: bool = False,
               **settings: str) -> Iterator[tuple[str, str]]:
    """`reelserve serve`; with `worker`, a worker in it, or with `separate_worker` a `reelserve worker` beside it."""
    port = _free_port()
    data_dir.mkdir(parents=True)
    env = {**os.environ, "REELSERVE_CACHE_DIR": str(cache), "REELSERVE_MAX_ACTIVE_PER_KEY": "0",
           "REELSERVE_SUBMITS_PER_MINUTE": "0", **{f"REELSERVE_{k.upper()}": v for k, v in settings.items()}}
    command = [sys.executable, "-m", "reelserve.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
               "--weights", "tiny", *([] if worker and not separate_worker else ["--no-worker"])]
    worker_command = [sys.executable, "-m", "reelserve.cli", "worker", "--data-dir", str(data_dir), "--weights", "tiny"]
    with _process(command, data_dir / "serve.log", env), contextlib.ExitStack() as workers:
        if separate_worker:
            workers.enter_context(_process(worker_command, data_dir / "worker.log", env))
        base = f"http://127.0.0.1:{port}"
        _wait(lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200)
        key = (data_dir / "first-api-key").read_text().strip()
        if worker:  # the engine a worker runs is in the authenticated health detail
            auth = {"Authorization": f"Bearer {key}"}
            _wait(lambda: (httpx.get(f"{base}/v1/health", headers=auth, timeout=1).json()["engine"] or {})
                  .get("state") == "ready")
        yield base, key


@contextlib.contextmanager
def _process(command: list[str], log: Path, env: dict[str, str]) -> Iterator[None]:
    with open(log, "w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _wait(ready, timeout: float = 180) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if ready():
                return
        time.sleep(0.2)
    raise RuntimeError("a server did not come up; see its log in the scratch directory")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per throughput round")
    parser.add_argument("--concurrency", type=int, default=16, help="connections the load generator keeps open")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds per target, alternated")
    parser.add_argument("--samples", type=int, default=5, help="end-to-end requests per store for pickup/overhead")
    parser.add_argument("--cache-dir", default="~/.cache/reelserve", help="where the tiny weights are built")
    return parser.parse_args()


if __name__ == "__main__":
    main()
