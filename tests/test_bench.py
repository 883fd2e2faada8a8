"""bench/engine.py keeps working and keeps its documented output format (docs/bench.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_engine_bench_prints_its_documented_columns(tiny_cache) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "engine.py"), "--cache-dir", str(tiny_cache), "--duration", "3",
         "--warmup", "0", "--repeat", "1", "--json", "--models", "kling/kling-3.0/standard/text-to-video"],
        capture_output=True, text=True, timeout=300, check=True,
    )
    lines = run.stdout.splitlines()
    assert lines[0].startswith("# reelserve bench/engine.py  family=ltx-2.5 weights=tiny device=cpu")
    header = next(line for line in lines if line.startswith("tier"))
    documented = (ROOT / "docs" / "bench.md").read_text()
    assert header in documented  # the doc shows the exact header the script prints
    row = lines[lines.index(header) + 1].split()
    assert row[:2] == ["standard", "256x144"] and len(row) == len(header.split())
    record = json.loads(run.stderr.strip().splitlines()[-1])
    assert record["stage1_steps"] == 8 and record["stage2_steps"] == 3 and record["total_seconds"] > 0


def test_store_bench_prints_both_backends_side_by_side(pg_server) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "store.py"), "--sizes", "100,2000", "--ops", "40",
                          "--repeat", "1"], capture_output=True, text=True, timeout=300, check=True,
                         env={**os.environ, "REELSERVE_BENCH_DATABASE_URL": pg_server})
    lines = run.stdout.splitlines()
    assert lines[0].startswith("# reelserve bench/store.py") and "backends=sqlite,postgres" in lines[0]
    assert lines[1] in (ROOT / "docs" / "bench.md").read_text()
    rows = [line.split() for line in lines[2:-1]]
    assert [(r[0], r[1]) for r in rows] == [("sqlite", "100"), ("sqlite", "2,000"), ("postgres", "100"),
                                            ("postgres", "2,000")]
    assert all(float(r[2]) > 0 and float(r[5]) > 0 and r[6] == "1.00" for r in rows[::2])  # history/s, submit×


def test_api_bench_measures_every_target_and_the_overhead(tiny_cache, pg_server) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "api.py"), "--requests", "40", "--rounds", "1",
                          "--samples", "1", "--cache-dir", str(tiny_cache)], capture_output=True, text=True,
                         timeout=600, check=True, env={**os.environ, "REELSERVE_BENCH_DATABASE_URL": pg_server})
    out = run.stdout
    assert out.startswith("# reelserve bench/api.py") and "postgres=yes" in out.splitlines()[0]
    for target in ("bare FastAPI", "reelserve/sqlite", "reelserve/postgres"):
        assert out.count(target) == 2, out  # one status-poll row and one submit row
    assert "sqlite, in-process" in out and "sqlite, worker process" in out and "postgres (NOTIFY)" in out
    assert out.count("server p50") == 3, out  # the row's own pickup beside the polled one
    ratios = [float(part.split()[0]) for part in out.split("ratio ")[1:]]
    assert len(ratios) == 3 and min(ratios) > 0.5, out  # through the API can't be much faster than the engine


def test_hostile_bench_prints_its_documented_columns() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "hostile.py"), "--seconds", "0.5"],
                         capture_output=True, text=True, timeout=120, check=True)
    lines = run.stdout.splitlines()
    assert lines[0].startswith("# reelserve bench/hostile.py")
    assert lines[1] in (ROOT / "docs" / "bench.md").read_text()
    hostile = lines[3].split()
    assert hostile[:2] == ["this", "hostile"] and int(hostile[-1]) < 8000  # the short error, not megabytes


def test_frames_bench_checks_both_paths_agree_and_prints_its_columns() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "frames.py"), "--sizes", "720p", "--repeat", "1"],
                         capture_output=True, text=True, timeout=300, check=True)
    lines = run.stdout.splitlines()
    assert lines[0].startswith("# reelserve bench/frames.py") and lines[1] in (ROOT / "docs" / "bench.md").read_text()
    assert lines[2].split()[:2] == ["720p", "121"]


def test_encode_and_throughput_benches_print_their_documented_columns() -> None:
    documented = (ROOT / "docs" / "bench.md").read_text()
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "encode.py"), "--sizes", "720p:12", "--repeat", "1",
                          "--grid-frames", "0"], capture_output=True, text=True, timeout=300, check=True)
    lines = run.stdout.splitlines()
    assert lines[0].startswith("# reelserve bench/encode.py") and lines[1] in documented
    assert lines[2].split()[:2] == ["720p", "12"]
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "throughput.py"), "--requests", "2",
                          "--generate-seconds", "0.2", "--frames", "12"], capture_output=True, text=True, timeout=300,
                         check=True)
    lines = run.stdout.splitlines()
    assert lines[0].startswith("# reelserve bench/throughput.py") and lines[1] in documented
    assert [line.split()[0] for line in lines[2:]] == ["sequential", "overlapped"]


def test_profile_bench_groups_the_servers_samples(tiny_cache, pg_server) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "profile_api.py"), "--requests", "300",
                          "--cache-dir", str(tiny_cache)], capture_output=True, text=True, timeout=600, check=True,
                         env={**os.environ, "REELSERVE_BENCH_DATABASE_URL": pg_server})
    out = run.stdout
    assert out.startswith("# reelserve bench/profile_api.py") and "postgres=yes" in out.splitlines()[0]
    for title in ("status poll, sqlite", "submit, sqlite", "status poll, postgres", "submit, postgres"):
        assert f"{title}: " in out, out
    shares = [float(line.split()[-1].rstrip("%")) for line in out.splitlines() if line.endswith("%")]
    assert "store: SQL and driver" in out and 99 < sum(shares) / 4 < 101, out  # each profile's shares add up


def test_events_bench_compares_polls_with_and_without_open_streams(tiny_cache, pg_server) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "events.py"), "--streams", "5", "--requests", "300",
                          "--rounds", "1", "--churn", "20", "--ahead", "40", "--cache-dir", str(tiny_cache)],
                         capture_output=True,
                         text=True, timeout=300, check=True, env={**os.environ, "REELSERVE_BENCH_DATABASE_URL": pg_server})
    lines = run.stdout.splitlines()
    assert lines[0].startswith("# reelserve bench/events.py") and "postgres=yes" in lines[0]
    assert lines[1] in (ROOT / "docs" / "bench.md").read_text()  # the doc shows the header the script prints
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1]) for r in rows] == [("sqlite", "0"), ("sqlite", "5"), ("postgres", "0"), ("postgres", "5")]
    assert all(r[5] == "1.00" for r in rows[::2])  # each store's row without streams is its own baseline
    assert all(float(r[6]) > 0 for r in rows[1::2]), run.stdout  # the open streams heard the queue move
