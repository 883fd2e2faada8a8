"""Does one hostile body stall everyone else? `python bench/hostile.py [--seconds 3] [--compare-src DIR]`

Starts `reelserve serve --no-worker` and times `GET /healthz` from one client, first alone, then
while three other clients keep posting a 1 MB body of 80,000 unknown fields (the largest such body
the default limit admits). Prints the median and the worst /healthz time for each phase and their
ratio. `--compare-src` runs the same against another checkout's `src/` (say, a worktree of an older
commit) in the same run, side by side, since timings on a shared 2-core machine are only comparable
within one run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
MODEL = "kling/kling-3.0/pro/text-to-video"
HOSTILE = json.dumps({f"{i:x}": 1 for i in range(80_000)} | {"prompt": "x"}).encode()


def main() -> None:
    args = _parse_args()
    print(f"# reelserve bench/hostile.py  body={len(HOSTILE)} bytes  seconds={args.seconds}  cpus={os.cpu_count()}")
    print(f"{'server':<10} {'phase':<8} {'healthz p50 ms':>15} {'healthz max ms':>15} {'hostile answers':>16} "
          f"{'answer bytes':>13}")
    targets = {"this": ROOT / "src"} | ({"compare": Path(args.compare_src)} if args.compare_src else {})
    for name, src in targets.items():
        with _server(src) as (base, key):
            idle = _healthz_while(base, key, args.seconds, hostile_clients=0)
            busy = _healthz_while(base, key, args.seconds, hostile_clients=3)
        for phase, (times, answers, size) in (("idle", idle), ("hostile", busy)):
            print(f"{name:<10} {phase:<8} {statistics.median(times) * 1000:>15.1f} {max(times) * 1000:>15.1f} "
                  f"{answers:>16} {size:>13}")
        print(f"{name:<10} ratio    {statistics.median(busy[0]) / statistics.median(idle[0]):>15.1f} "
              f"{max(busy[0]) / max(idle[0]):>15.1f}")


def _attack(base: str, key: str, stop, answers, largest) -> None:  # noqa: ANN001 - multiprocessing values
    """One hostile client, in its own process so the /healthz client below never waits for its GIL."""
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            response = client.post(f"{base}/v1/models/{MODEL}", content=HOSTILE,
                                   headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            with answers.get_lock():
                answers.value += 1
                largest.value = max(largest.value, len(response.content))


def _healthz_while(base: str, key: str, seconds: float, hostile_clients: int) -> tuple[list[float], int, int]:
    stop, answers, largest = multiprocessing.Event(), multiprocessing.Value("i", 0), multiprocessing.Value("q", 0)
    attackers = [multiprocessing.Process(target=_attack, args=(base, key, stop, answers, largest))
                 for _ in range(hostile_clients)]
    for process in attackers:
        process.start()
    times = []
    with httpx.Client(timeout=30) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            began = time.perf_counter()
            client.get(f"{base}/healthz")
            times.append(time.perf_counter() - began)
            time.sleep(0.01)
    stop.set()
    for process in attackers:
        process.join()
    return times, answers.value, largest.value


class _server:
    def __init__(self, src: Path) -> None:
        self.src = src

    def __enter__(self) -> tuple[str, str]:
        self.scratch = tempfile.TemporaryDirectory()
        data = Path(self.scratch.name)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(self.src), "REELSERVE_SUBMITS_PER_MINUTE": "0",
               "REELSERVE_MAX_ACTIVE_PER_KEY": "0"}
        self.log = open(data / "serve.log", "w")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen([sys.executable, "-m", "reelserve.cli", "serve", "--no-worker", "--port",
                                      str(port), "--data-dir", str(data)], stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"server did not start: {(data / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.1)
        return base, (data / "first-api-key").read_text().strip()

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()
        self.scratch.cleanup()


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each phase")
    parser.add_argument("--compare-src", help="another checkout's src/ folder, run side by side")
    return parser.parse_args()


if __name__ == "__main__":
    main()
