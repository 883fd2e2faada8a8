"""Requests a minute from one worker: requests one after the other, or queued back to back (overlapped).

    python bench/throughput.py [--requests 10] [--generate-seconds 3] [--frames 121]

A stand-in engine plays a GPU that leaves the CPU alone: it sleeps `--generate-seconds` per request,
then returns real-size frames (720p, `--frames` of FFmpeg's testsrc2 with light grain) and 5 s of
stereo audio. It hands back the same read-only arrays every time: copying 334 MB into freshly
allocated memory costs this VM 0.6-1.3 s of page faults, which is the host side's cost, not the GPU's
(docs/bench.md). Everything else is the production worker on SQLite
and local storage: claim, lease, progress, the MP4 encode, the poster, the upload, the fenced
completion. The same requests run twice through that worker, in one run: first each submitted only
once the one before completed, so there is never a next request to generate while one publishes
(generate, then publish: what reelserve did before round three); then all queued at once, so the
worker generates each next request while the last one publishes.

Ideal rates: sequential 60 / (generate + publish); overlapped 60 / max(generate, publish), with
`publish` the median encode + store seconds the results report.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encode import CONTENT, lavfi_frames  # noqa: E402

from reelserve.cli.compose import storage_for, store_for  # noqa: E402
from reelserve.engines.base import EngineInfo  # noqa: E402
from reelserve.media import Clip  # noqa: E402
from reelserve.settings import Settings  # noqa: E402
from reelserve.store import Status  # noqa: E402
from reelserve.worker import Worker, WorkerConfig  # noqa: E402

MODEL = "kling/kling-3.0/standard/text-to-video"
SAMPLE_RATE = 48_000


class StandInEngine:
    """Sleeps like a GPU busy generating, then hands back real-size frames and audio."""

    info = EngineInfo(family="stand-in", weights="none", random_weights=True, device="cpu", dtype="uint8")

    def __init__(self, frames: np.ndarray, seconds: float) -> None:
        self.frames, self.seconds = frames, seconds
        self.frames.setflags(write=False)  # shared by every clip: nothing downstream may write to it
        samples = round(frames.shape[0] / 24 * SAMPLE_RATE)
        tone = (0.1 * np.sin(np.arange(samples) * 2 * np.pi * 440 / SAMPLE_RATE)).astype(np.float32)
        self.audio = np.stack([tone, tone])
        self.audio.setflags(write=False)

    def generate(self, spec, on_progress=None):
        steps = 10
        for step in range(steps):
            time.sleep(self.seconds / steps)
            if on_progress is not None:
                on_progress(100.0 * (step + 1) / steps)
        return Clip(frames=self.frames, fps=24, audio=self.audio, sample_rate=SAMPLE_RATE)


def run(frames: np.ndarray, args: argparse.Namespace, overlap: bool, root: Path) -> tuple[float, list[float]]:
    """Minutes-rate of `args.requests` requests, queued back to back (`overlap`) or each submitted once the
    one before completed; and each one's publish seconds."""
    settings = Settings(data_dir=root / ("overlap" if overlap else "sequential"), signing_secret="bench")
    store, storage = store_for(settings), storage_for(settings)
    owner = store.create_key("bench")[0].id
    config = WorkerConfig(lease_seconds=60, poll_seconds=0.05, scratch_dir=settings.data_dir / "tmp")
    worker = Worker(store, storage, lambda: StandInEngine(frames, args.generate_seconds), config)
    worker.load()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()

    def submit(i: int) -> str:
        return store.submit_request(owner, MODEL, {"prompt": f"request {i}", "duration": 5, "seed": i})[0].id

    def wait_completed(batch: list[str]) -> None:
        while any(store.get(i).status is not Status.COMPLETED for i in batch):
            time.sleep(0.02)

    began = time.perf_counter()
    if overlap:
        ids = [submit(i) for i in range(args.requests)]
        wait_completed(ids)
    else:
        ids = []
        for i in range(args.requests):
            ids.append(submit(i))
            wait_completed(ids[-1:])
    elapsed = time.perf_counter() - began
    stop.set()
    worker.wake()
    thread.join()
    timings = [store.get(i).metadata["timings"] for i in ids]
    store.close()
    return args.requests / elapsed * 60, [t["encode_seconds"] + t["store_seconds"] for t in timings]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--generate-seconds", type=float, default=3.0)
    parser.add_argument("--frames", type=int, default=121)
    args = parser.parse_args()
    frames = lavfi_frames(CONTENT["grain-light"].format(w=1280, h=720), args.frames)
    print(f"# reelserve bench/throughput.py  requests={args.requests} generate_seconds={args.generate_seconds} "
          f"frames={args.frames} size=1280x720 cpus={os.cpu_count()}")
    print(f"{'worker':<12}{'req/min':>9}{'publish s':>11}{'ideal req/min':>15}{'of ideal':>10}")
    with tempfile.TemporaryDirectory() as scratch:
        for overlap in (False, True):
            rate, publish = run(frames, args, overlap, Path(scratch))
            median = statistics.median(publish)
            ideal = 60 / (max(args.generate_seconds, median) if overlap else args.generate_seconds + median)
            print(f"{'overlapped' if overlap else 'sequential':<12}{rate:>9.2f}{median:>11.2f}{ideal:>15.2f}"
                  f"{rate / ideal:>10.2f}", flush=True)


if __name__ == "__main__":
    main()
