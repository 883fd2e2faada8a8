"""A worker process for the reliability tests: the real `Worker`, store and storage, with a scripted engine.

The engine is a test double so that hundreds of requests, kills and restarts fit in seconds on two
CPU cores; everything it drives (claims, leases, the reaper, progress writes, MP4 muxing, storage,
fenced completion) is the production code. The prompt scripts what the engine does:

    "work"          about 0.3 s of steps, then a small real clip
    "sleep:<secs>"  that many seconds of steps
    "poison"        the process SIGKILLs itself, as a segfault or the OOM killer would
    "crash-in-publish"  on its first attempt, the process SIGKILLs itself in the middle of publishing
                    (at the video's upload), once the next request has started generating beside it
    "freeze-at-commit"  on its first attempt, the worker waits just before the fenced completion
                    write until the test creates `<data dir>/commit-<pid>` (the test freezes it with
                    SIGSTOP meanwhile, so its lease lapses)

Every engine start and every completion attempt is appended to `<data dir>/events/<pid>.jsonl`, so a
test can count, per request, how many times it ran and how many results were committed.

The store and storage are the ones the settings name (`REELSERVE_DATABASE_URL`, `REELSERVE_STORAGE_URL`
...), so the same harness runs on SQLite and local disk or on PostgreSQL and S3.

With `--webhooks` the process also runs the webhook delivery loop, as `reelserve worker` does, built
by the production composition (cli/compose.py) from the REELSERVE_WEBHOOK_* settings.

Run: python -m tests.reliability.harness DATA_DIR [--lease S] [--grace S] [--webhooks]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from reelserve.cli.compose import build_deliverer, storage_for
from reelserve.delivery import DeliveryThread
from reelserve.engines.base import EngineInfo, GenerationSpec, ProgressCallback
from reelserve.media import Clip
from reelserve.errors import LeaseLostError
from reelserve.settings import Settings
from reelserve.storage import MediaStorage
from reelserve.store import JobStore, SqliteJobStore, Status
from reelserve.store.postgres import PostgresJobStore
from reelserve.worker import Janitor, Worker, WorkerConfig
from reelserve.worker.shutdown import run_until_signalled

STEP_SECONDS = 0.05


class Events:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        folder = data_dir / "events"
        folder.mkdir(parents=True, exist_ok=True)
        self._file = open(folder / f"{os.getpid()}.jsonl", "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        self._lock = threading.Lock()

    def write(self, kind: str, **fields: Any) -> None:
        with self._lock:
            self._file.write(json.dumps({"kind": kind, "pid": os.getpid(), "t": time.time(), **fields}) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())  # a SIGKILL right after must not lose the line


class ScriptedEngine:
    info = EngineInfo(family="scripted", weights="none", random_weights=True, device="cpu", dtype="uint8")

    def __init__(self, events: Events) -> None:
        self.events = events

    def generate(self, spec: GenerationSpec, on_progress: ProgressCallback | None = None) -> Clip:
        self.events.write("run", prompt=spec.prompt, seed=spec.seed)
        if spec.prompt == "poison":
            os.kill(os.getpid(), signal.SIGKILL)
        seconds = float(spec.prompt.split(":", 1)[1]) if spec.prompt.startswith("sleep:") else 0.3
        steps = max(1, round(seconds / STEP_SECONDS))
        for step in range(steps):
            time.sleep(STEP_SECONDS)
            if on_progress is not None:
                on_progress(100.0 * (step + 1) / steps)
        frames = np.full((4, 64, 64, 3), spec.seed % 255, dtype=np.uint8)
        return Clip(frames=frames, fps=24, audio=None, sample_rate=None)


class Recording:
    """Mixed into a store: logs every completion attempt, whether the lease fence let it through, and lost leases."""

    events: Events

    def set_progress(self, job_id: str, worker_id: str, progress: float) -> None:
        try:
            super().set_progress(job_id, worker_id, progress)
        except LeaseLostError:
            self.events.write("lease_lost", job=job_id, worker=worker_id)
            raise

    def renew_lease(self, job_id: str, worker_id: str, lease_seconds: float) -> bool:
        held = super().renew_lease(job_id, worker_id, lease_seconds)
        if not held:
            self.events.write("lease_lost", job=job_id, worker=worker_id)
        return held

    def complete(self, job_id: str, worker_id: str, output_key: str, metadata: dict[str, Any],
                 poster_key: str | None = None) -> None:
        job = self.get(job_id)
        if job is not None and job.input["prompt"] == "freeze-at-commit" and job.attempts == 1:
            self.events.write("freezing", job=job_id, worker=worker_id)
            go = self.events.data_dir / f"commit-{os.getpid()}"
            while not go.exists():
                time.sleep(0.01)
        try:
            super().complete(job_id, worker_id, output_key, metadata, poster_key=poster_key)
        except LeaseLostError:
            self.events.write("rejected", job=job_id, worker=worker_id, key=output_key)
            raise
        self.events.write("committed", job=job_id, worker=worker_id, key=output_key)


class CrashingStorage:
    """The real storage, except that a "crash-in-publish" request's first upload kills the process, as an
    OOM kill during encoding would. It waits (up to 5 s) for the next request to start generating, so
    the crash hits a worker with a job on each side."""

    def __init__(self, inner: MediaStorage, store: JobStore, events: Events) -> None:
        self.inner, self.store, self.events = inner, store, events

    def put(self, key: str, source: Path) -> None:
        job = self.store.get(key.split("/", 1)[0])
        if job is not None and job.input["prompt"] == "crash-in-publish" and job.attempts == 1:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not self._other_started(job.id):
                time.sleep(0.01)
            self.events.write("crashing", job=job.id)
            os.kill(os.getpid(), signal.SIGKILL)
        self.inner.put(key, source)

    def _other_started(self, job_id: str) -> bool:
        """Another request is in progress beside this one (on this process: the only worker running then)."""
        counts = self.store.active_counts()
        return sum(n for (_, status), n in counts.items() if status is Status.IN_PROGRESS) >= 2

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class RecordingSqlite(Recording, SqliteJobStore):
    pass


class RecordingPostgres(Recording, PostgresJobStore):
    pass


def build_worker(data_dir: Path, lease: float) -> Worker:
    events = Events(data_dir)
    settings = Settings(data_dir=data_dir, signing_secret="test")
    store: JobStore = (RecordingPostgres(settings.database_url) if settings.database_url
                       else RecordingSqlite(settings.database_path))
    store.events = events
    store.migrate()
    storage = CrashingStorage(storage_for(settings), store, events)
    janitor = Janitor(store, storage, retention_seconds=7 * 86400, reap_every=lease / 2)
    config = WorkerConfig(lease_seconds=lease, poll_seconds=0.05, scratch_dir=data_dir / "tmp", progress_interval=0.2)
    return Worker(store, storage, lambda: ScriptedEngine(events), config, janitor=janitor)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--lease", type=float, default=1.0)
    parser.add_argument("--grace", type=float, default=5.0)
    parser.add_argument("--webhooks", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {os.getpid()} %(name)s: %(message)s")
    worker = build_worker(args.data_dir, args.lease)
    if args.webhooks:
        settings = Settings(data_dir=args.data_dir, signing_secret="test")
        DeliveryThread(build_deliverer(settings, worker.store, worker.storage)).start()
    return 0 if run_until_signalled(worker, args.grace) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
