"""bench/engine.py keeps working and keeps its documented output format (docs/bench.md)."""

from __future__ import annotations

import json
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
    assert lines[0].startswith("# reelserve bench/engine.py  weights=tiny device=cpu")
    header = next(line for line in lines if line.startswith("tier"))
    documented = (ROOT / "docs" / "bench.md").read_text()
    assert header in documented  # the doc shows the exact header the script prints
    row = lines[lines.index(header) + 1].split()
    assert row[:2] == ["standard", "256x144"] and len(row) == len(header.split())
    record = json.loads(run.stderr.strip().splitlines()[-1])
    assert record["stage1_steps"] == 8 and record["stage2_steps"] == 3 and record["total_seconds"] > 0
