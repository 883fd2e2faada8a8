"""SIGTERM on a real `reelserve worker` (tiny weights) mid-request: exit 0 within grace + 2 s, nothing left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reelserve.store import SqliteJobStore, Status
from tests.jobs import submit

PRO = "kling/kling-3.0/pro/text-to-video"
LONG = {"prompt": "a slow pan over a harbour", "duration": 15, "seed": 3}  # about 4 s with tiny weights on 2 cores


@pytest.fixture
def queue(tmp_path: Path):
    store = SqliteJobStore(tmp_path / "reelserve.db")
    store.migrate()
    yield store, store.create_key("k")[0].id
    store.close()


def start_worker(data_dir: Path, tiny_cache: Path, grace: float) -> subprocess.Popen:
    env = {**os.environ, "REELSERVE_CACHE_DIR": str(tiny_cache), "REELSERVE_SHUTDOWN_GRACE_SECONDS": str(grace),
           "REELSERVE_WORKER_POLL_SECONDS": "0.05", "REELSERVE_DEVICE": "cpu"}
    log = open(data_dir / f"worker-{time.monotonic_ns()}.log", "w")  # noqa: SIM115 - closed by the OS at exit
    return subprocess.Popen([sys.executable, "-m", "reelserve.cli", "worker", "--data-dir", str(data_dir),
                             "--weights", "tiny"], stdout=log, stderr=subprocess.STDOUT, env=env)


def wait_running(store: SqliteJobStore, job_id: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while (job := store.get(job_id)).status is Status.IN_QUEUE or not job.progress:
        assert proc.poll() is None and time.monotonic() < deadline, "the worker never started the request"
        time.sleep(0.02)
    assert job.status is Status.IN_PROGRESS


def sigterm_mid_request(queue, data_dir: Path, tiny_cache: Path, grace: float):
    """Start a worker, SIGTERM it once it is generating; (the exited process, seconds to exit, the request)."""
    store, owner = queue
    job = submit(store, owner, PRO, LONG)
    proc = start_worker(data_dir, tiny_cache, grace)
    wait_running(store, job.id, proc)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return proc, time.monotonic() - sent, store.get(job.id)


def test_sigterm_lets_the_request_finish_within_the_grace_period(queue, tmp_path, tiny_cache) -> None:
    proc, took, done = sigterm_mid_request(queue, tmp_path, tiny_cache, grace=60)
    print(f"\nshutdown, grace 60 s: SIGTERM mid-request; it completed and the worker exited "
          f"{proc.returncode} after {took:.1f} s")
    assert proc.returncode == 0 and done.status is Status.COMPLETED and took < 60 + 2


def test_sigterm_past_the_grace_period_hands_the_request_back(queue, tmp_path, tiny_cache) -> None:
    store, _ = queue
    proc, took, back = sigterm_mid_request(queue, tmp_path, tiny_cache, grace=0.5)
    job = back
    print(f"\nshutdown, grace 0.5 s: SIGTERM mid-request; worker exited {proc.returncode} after {took:.2f} s, "
          f"request back {back.status.value} (attempts {back.attempts})")
    assert proc.returncode == 0 and took < 0.5 + 2
    assert (back.status, back.attempts, back.lease_owner) == (Status.IN_QUEUE, 0, None)

    successor = start_worker(tmp_path, tiny_cache, grace=60)
    deadline = time.monotonic() + 120
    while store.get(job.id).status is not Status.COMPLETED:
        assert successor.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    assert store.get(job.id).attempts == 1
    successor.send_signal(signal.SIGTERM)
    assert successor.wait(timeout=30) == 0


def test_ctrl_c_says_what_it_waits_for_and_a_second_hands_the_job_back(queue, tmp_path, tiny_cache) -> None:
    """`reelserve serve` in a terminal: the first Ctrl-C stops the API and names the job it waits for;
    the second hands that job back to the queue and exits at once; the next start runs it."""
    from tests.live import free_port

    store, owner = queue
    job = submit(store, owner, PRO, LONG)
    env = {**os.environ, "REELSERVE_CACHE_DIR": str(tiny_cache), "REELSERVE_SHUTDOWN_GRACE_SECONDS": "60",
           "REELSERVE_WORKER_POLL_SECONDS": "0.05", "REELSERVE_DEVICE": "cpu"}
    command = [sys.executable, "-m", "reelserve.cli", "serve", "--data-dir", str(tmp_path), "--weights", "tiny",
               "--port", str(free_port())]
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    wait_running(store, job.id, proc)
    proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 30
    while "press Ctrl-C again" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    assert f"waiting up to 60 s for job {job.id} to finish" in log.read_text()
    second = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0, log.read_text()
    took = time.monotonic() - second
    back = store.get(job.id)
    print(f"\nCtrl-C twice mid-request: exited {took:.2f} s after the second, request {back.status.value}")
    assert took < 5 and (back.status, back.attempts, back.lease_owner) == (Status.IN_QUEUE, 0, None)
    assert "handed back to the queue; stopping now" in log.read_text()

    successor = start_worker(tmp_path, tiny_cache, grace=60)
    deadline = time.monotonic() + 120
    while store.get(job.id).status is not Status.COMPLETED:
        assert successor.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    successor.send_signal(signal.SIGTERM)
    assert successor.wait(timeout=30) == 0
