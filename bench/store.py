"""Store costs as the table grows: `python bench/store.py [--sizes 1000,100000] [--ops 500]`.

For each backend (SQLite, and PostgreSQL when reachable) and each table size, fill a fresh store
with that many finished requests (the history a busy server keeps for its retention period), then
time `--ops` of each operation the service does per request:

    submit   store.submit_request (the admission transaction: limits checked, row inserted)
    status   store.get_with_position (what one status poll costs: the job and its queue position)
    claim    store.claim (a worker taking the oldest queued request)

and print operations per second side by side, with each size's ratio to the smallest. Flat costs
mean ratios near 1.00: nothing the service does per request scans the history.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pg
from reelserve.store import JobStore, SqliteJobStore, SubmitLimits

MODEL = "kling/kling-3.0/standard/text-to-video"
BODY = {"prompt": "a lighthouse at dusk", "duration": 5, "aspect_ratio": "16:9", "sound": True, "seed": 7}
LIMITS = SubmitLimits(max_active=1_000_000, per_minute=1_000_000)  # checked (so counted), never hit
FILL_SQL = {
    "sqlite": (
        "INSERT INTO jobs (id, owner, model_id, input, status, created_at, started_at, finished_at, attempts,"
        " output_key, metadata) VALUES (?, ?, ?, ?, 'completed', ?, ?, ?, 1, ?, '{}')"
    ),
    # Server-side, so 100k rows take a second, not a minute of round trips.
    "postgres": (
        "INSERT INTO jobs (id, owner, model_id, input, status, created_at, started_at, finished_at, attempts,"
        " output_key) SELECT 'hist-' || g, %s, %s, %s::jsonb, 'completed', now() - interval '1 day',"
        " now() - interval '1 day', now() - interval '1 day', 1, 'hist-' || g || '/video.mp4'"
        " FROM generate_series(1, %s) AS g"
    ),
}


def main() -> None:
    args = _parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = {"sqlite": _sqlite_store}
    if pg.reachable():
        backends["postgres"] = _postgres_store
    print(f"# reelserve bench/store.py  sizes={args.sizes} ops={args.ops} repeat={args.repeat} "
          f"backends={','.join(backends)} python={platform.python_version()} host={platform.node()}")
    print(f"{'backend':<9}{'rows':>9}{'submit/s':>10}{'status/s':>10}{'claim/s':>10}{'history/s':>10}"
          f"{'submit×':>9}{'status×':>9}{'claim×':>9}{'history×':>9}")
    for name, opener in backends.items():
        rates = _median_rates(opener, sizes, args.ops, args.repeat)
        for size in sizes:
            row, base = rates[size], rates[sizes[0]]
            print(f"{name:<9}{size:>9,}{row['submit']:>10.0f}{row['status']:>10.0f}{row['claim']:>10.0f}"
                  f"{row['history']:>10.0f}"
                  + "".join(f"{row[op] / base[op]:>9.2f}" for op in ("submit", "status", "claim", "history")),
                  flush=True)
    print("# ratio = ops/s at this size ÷ ops/s at the smallest; 1.00 is flat")


def _median_rates(opener: Callable, sizes: list[int], ops: int, repeat: int) -> dict[int, dict[str, float]]:
    """Sizes interleaved within each repeat, so a drift in the machine's speed hits every size alike."""
    runs: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
    for _ in range(repeat):
        for size in sizes:
            with opener(size) as (store, owner):
                runs[size].append(_measure(store, owner, ops))
    return {size: {op: statistics.median(r[op] for r in results) for op in results[0]}
            for size, results in runs.items()}


def _measure(store: JobStore, owner: str, ops: int) -> dict[str, float]:
    started = time.perf_counter()
    jobs = [store.submit_request(owner, MODEL, BODY, limits=LIMITS)[0] for _ in range(ops)]
    submitted = time.perf_counter()
    for job in jobs:
        store.get_with_position(job.id, owner)
    polled = time.perf_counter()
    for _ in range(ops):
        assert store.claim("bench", 300) is not None
    claimed = time.perf_counter()
    cursor = None
    for _ in range(ops):  # GET /v1/requests pages of 20, walking back from the newest
        cursor = store.history(owner, 20, before=cursor).next_before
    paged = time.perf_counter()
    return {"submit": ops / (submitted - started), "status": ops / (polled - submitted),
            "claim": ops / (claimed - polled), "history": ops / (paged - claimed)}


@contextmanager
def _sqlite_store(size: int) -> Iterator[tuple[JobStore, str]]:
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteJobStore(Path(folder) / "bench.db")
        store.migrate()
        owner = store.create_key("bench")[0].id
        with store._transaction() as conn:
            now = datetime.now(UTC).timestamp() - 86400
            rows = ((f"hist-{i}", owner, MODEL, '{"prompt": "x"}', now, now, now, f"hist-{i}/video.mp4")
                    for i in range(size))
            conn.executemany(FILL_SQL["sqlite"], rows)
        with sqlite3.connect(store.path) as conn:
            conn.execute("ANALYZE")
        yield store, owner
        store.close()


@contextmanager
def _postgres_store(size: int) -> Iterator[tuple[JobStore, str]]:
    import psycopg

    from reelserve.store.postgres import PostgresJobStore

    with pg.temporary_schema() as url:
        store = PostgresJobStore(url)
        store.migrate()
        owner = store.create_key("bench")[0].id
        with psycopg.connect(store.url, autocommit=True) as conn:
            conn.execute(FILL_SQL["postgres"], (owner, MODEL, '{"prompt": "x"}', size))
            conn.execute("ANALYZE jobs")
        yield store, owner
        store.close()


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000", help="table sizes, comma-separated")
    parser.add_argument("--ops", type=int, default=500, help="operations of each kind per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="fresh stores per size; the median is printed")
    return parser.parse_args()


if __name__ == "__main__":
    main()
