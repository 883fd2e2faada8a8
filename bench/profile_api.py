"""Where a status poll's and a submit's time goes: `python bench/profile_api.py [--requests 3000]`.

Starts `reelserve serve --no-worker` (SQLite, and PostgreSQL when reachable), attaches py-spy to it
(sampling, so the server runs at full speed), drives status polls and then submits with
bench/api.py's load generator, and prints the server's CPU samples grouped by who spent them:
the innermost frame that belongs to a known part (the store, logging, pydantic, FastAPI, uvicorn,
...) names the sample's bucket. Needs py-spy (`pip install py-spy`, see docs/bench.md) and the
right to ptrace the server (root, or kernel.yama.ptrace_scope 0).

`--keep DIR` keeps each profile's collapsed stacks there (speedscope.app or flamegraph.pl read them).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import api  # bench/api.py: the same servers and load generator
import pg
from reelserve.engines.ltx2.families import DEFAULT_FAMILY, family_named
from reelserve.engines.ltx2.tiny import ensure_tiny_weights

# Innermost match wins, so order does not matter between disjoint parts; within a part, more
# specific paths come first. Matched against "function (file:line)" frames of py-spy's raw output.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("store: SQL and driver", ("(reelserve/store/", "(psycopg", "(sqlite3/", "(aiosql/")),
    ("logging", ("(logging/",)),
    ("json", ("(json/",)),
    ("request ids (uuid4)", ("(uuid.py",)),
    ("pydantic (validation, serialization)", ("(pydantic/", "(pydantic_core/")),
    ("API key check (keycache)", ("(reelserve/api/keycache.py", "(reelserve/api/deps.py")),
    ("request body read and checks", ("(reelserve/api/body.py", "(reelserve/catalog/")),
    ("route handlers and wire", ("(reelserve/api/routes/", "(reelserve/wire.py")),
    ("our middleware (access log, ids, limits)", ("(reelserve/api/middleware/",)),
    ("metrics (prometheus-client)", ("(reelserve/metrics.py", "(prometheus_client/")),
    ("errors table", ("(reelserve/api/errors.py",)),
    ("FastAPI (dependencies, routing, encoding)", ("(fastapi/",)),
    ("Starlette", ("(starlette/",)),
    ("thread pool hand-off (anyio, call_soon_threadsafe)", ("(anyio/", "(concurrent/futures/", "(queue.py",
                                                             "(threading.py", "call_soon_threadsafe")),
    ("uvicorn + h11 (HTTP parsing)", ("(uvicorn/", "(h11/", "(httptools/")),
    ("asyncio (socket reads and writes, loop)", ("(asyncio/", "(selectors.py")),
]
# A thread parked here is idle (py-spy --nonblocking cannot always tell): counted apart from the busy samples.
IDLE_LEAVES = ("Condition.wait (threading.py", "EpollSelector.select (selectors.py")


def main() -> None:
    args = _parse_args()
    if shutil.which(_py_spy()) is None:
        raise SystemExit("py-spy is not installed: pip install py-spy (docs/bench.md)")
    cache = Path(args.cache_dir).expanduser()
    ensure_tiny_weights(cache, family_named(DEFAULT_FAMILY))  # what the servers it starts load
    postgres = pg.reachable()
    print(f"# reelserve bench/profile_api.py  requests={args.requests} concurrency={args.concurrency} "
          f"postgres={'yes' if postgres else 'no'} python={platform.python_version()} cpus={os.cpu_count()}")
    load = argparse.Namespace(requests=args.requests, concurrency=args.concurrency)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        stores = {"sqlite": {}}
        with contextlib.ExitStack() as stack:
            if postgres:
                stores["postgres"] = {"database_url": stack.enter_context(pg.temporary_schema())}
            for store, settings in stores.items():
                with api._reelserve(scratch / store, cache, worker=False, **settings) as (base, key):
                    pid = _server_pid(scratch / store)
                    for kind in ("status poll", "submit"):
                        api._load(kind, base, key, load)  # warm-up: lazy imports, caches, pool
                        with _sampling(pid, scratch / f"{store}-{kind}.txt") as raw:
                            api._load(kind, base, key, load)
                        _report(f"{kind}, {store}", raw)
                        if args.keep:
                            Path(args.keep).mkdir(parents=True, exist_ok=True)
                            shutil.copy(raw, Path(args.keep) / f"{store}-{kind.replace(' ', '-')}.txt")


def _server_pid(data_dir: Path) -> int:
    """The pid of the `reelserve serve` whose data dir this is (bench/api.py does not hand it out)."""
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if b"serve" in cmdline and str(data_dir).encode() in cmdline:
                return int(proc.name)
    raise RuntimeError(f"no reelserve serve process for {data_dir}")


@contextlib.contextmanager
def _sampling(pid: int, out: Path) -> Iterator[Path]:
    """py-spy attached to `pid` while the body runs; its collapsed stacks are in `out` afterwards."""
    spy = subprocess.Popen([_py_spy(), "record", "--pid", str(pid), "--rate", "200", "--format", "raw",
                            "--output", str(out), "--nonblocking"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    time.sleep(1.0)  # attached and sampling
    try:
        yield out
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        _, err = spy.communicate(timeout=60)
        if not out.exists():
            raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")


def _py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else "py-spy"


def _report(title: str, raw: Path) -> None:
    """Samples per bucket, as a share of the samples taken while the server was busy."""
    totals: collections.Counter[str] = collections.Counter()
    idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not stack:
            continue
        if frames[-1].strip().startswith(IDLE_LEAVES):
            idle += int(count)
        else:
            totals[_bucket(frames)] += int(count)
    busy = sum(totals.values())
    print(f"{title}: {busy} busy samples ({idle} idle left out), 200/s per thread")
    for name, count in totals.most_common():
        print(f"  {name:<44}{count / busy:>6.1%}")


def _bucket(frames: list[str]) -> str:
    for frame in reversed(frames):  # innermost first
        for name, needles in BUCKETS:
            if any(needle in frame for needle in needles):
                return name
    return "other"


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests profiled per endpoint and store")
    parser.add_argument("--concurrency", type=int, default=16, help="connections the load generator keeps open")
    parser.add_argument("--keep", help="keep each profile's collapsed stacks in this folder")
    parser.add_argument("--cache-dir", default="~/.cache/reelserve", help="where the tiny weights are built")
    return parser.parse_args()


if __name__ == "__main__":
    main()
