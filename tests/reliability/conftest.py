"""A fleet of harness worker processes over one SQLite data dir, and readers for what they did."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reelserve.store import Job, JobStore, SqliteJobStore
from tests.jobs import submit

ROOT = Path(__file__).resolve().parents[2]
# A lease for the tests whose workers must never miss a renewal, even on a loaded machine (2 cores with
# 8 busy processes beside the test): renewed every third of it, so a beat may land seconds late.
# The fleet's default (1 s) keeps recovery fast where a missed renewal only means a job runs again.
LOADED_LEASE_SECONDS = 3.0


@dataclass
class Fleet:
    data_dir: Path
    lease: float = 1.0
    grace: float = 5.0
    env: dict[str, str] = field(default_factory=dict)  # REELSERVE_* settings for the workers
    procs: list[subprocess.Popen] = field(default_factory=list)
    store: JobStore | None = None  # the one the workers share; SQLite in the data dir unless given
    args: list[str] = field(default_factory=list)  # more harness arguments (`--webhooks`)

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.store is None:
            self.store = SqliteJobStore(self.data_dir / "reelserve.db")
        self.store.migrate()
        self.owner = self.store.create_key("fleet")[0].id

    def start(self, n: int = 1) -> list[subprocess.Popen]:
        started = []
        for _ in range(n):
            log = open(self.data_dir / f"worker-{len(self.procs)}.log", "w")  # noqa: SIM115 - closed by the OS at exit
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.harness", str(self.data_dir), "--lease", str(self.lease),
                 "--grace", str(self.grace), *self.args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(ROOT), **self.env})
            self.procs.append(proc)
            started.append(proc)
        return started

    def freeze(self, proc: subprocess.Popen) -> None:
        """SIGSTOP `proc` at a moment it holds no SQLite write lock.

        A process frozen inside a write transaction (microseconds per write) stalls every other
        writer until it resumes: SQLite has one write lock per database (docs/reliability.md).
        """
        for _ in range(100):
            proc.send_signal(signal.SIGSTOP)
            while _state(proc.pid) not in ("T", "t"):
                time.sleep(0.001)
            if self._writable():
                return
            proc.send_signal(signal.SIGCONT)
            time.sleep(0.01)
        raise AssertionError("the process always held the write lock")

    def _writable(self) -> bool:
        conn = sqlite3.connect(self.data_dir / "reelserve.db", timeout=0.05, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            conn.close()

    def live(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]

    def submit(self, prompts: list[str]) -> list[str]:
        return [submit(self.store, self.owner, "kling/kling-3.0/standard/text-to-video",
                       {"prompt": prompt, "duration": 3, "seed": i}).id for i, prompt in enumerate(prompts)]

    def jobs(self, ids: list[str]) -> dict[str, Job]:
        return {job_id: self.store.get(job_id) for job_id in ids}

    def wait_finished(self, ids: list[str], timeout: float, tick=None) -> dict[str, Job]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.jobs(ids)
            if all(job.status.is_terminal for job in jobs.values()):
                return jobs
            if tick is not None:
                tick()
            time.sleep(0.05)
        pending = Counter(job.status.value for job in self.jobs(ids).values())
        raise AssertionError(f"not finished after {timeout} s: {dict(pending)}\n{self.logs()}")

    def events(self, kind: str | None = None) -> list[dict]:
        found = []
        for path in sorted((self.data_dir / "events").glob("*.jsonl")):
            for line in path.read_text().splitlines():
                event = json.loads(line)
                if kind is None or event["kind"] == kind:
                    found.append(event)
        return found

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.data_dir.glob("worker-*.log")))

    def stop_all(self) -> None:
        for proc in self.live():
            proc.send_signal(signal.SIGCONT)
            proc.kill()
        for proc in self.procs:
            proc.wait(timeout=10)
        self.store.close()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def fleet(tmp_path: Path):
    fleet = Fleet(tmp_path)
    yield fleet
    fleet.stop_all()
