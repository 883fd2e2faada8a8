"""Faults of the machine under a running `reelserve serve`: a worker process killed, a full disk, a read-only
spell. Each is made inside the test's own sandbox (a private mount namespace where the data dir is a small
tmpfs, filled up or remounted read-only); the API must keep answering, say what is wrong, and lose nothing."""

from __future__ import annotations

import os
import threading
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from tests.live import live_server

PRO = "kling/kling-3.0/pro/text-to-video"
STANDARD = "kling/kling-3.0/standard/text-to-video"


def wait_for(condition, timeout: float, seen) -> None:
    """Until `condition()` holds; a failure says what was seen last (`seen()`)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, seen()
        time.sleep(0.1)


def submit(server, model: str = STANDARD, **body) -> httpx.Response:
    payload = {"prompt": "a harbour at dawn", "duration": 3, "enhance_prompt": False, **body}
    return httpx.post(f"{server.base}/v1/models/{model}", json=payload, headers=server.auth, timeout=30)


def status(server, request_id: str) -> dict:
    return httpx.get(f"{server.base}/v1/requests/{request_id}/status", headers=server.auth, timeout=10).json()


def worker_child(server) -> psutil.Process:
    children = [p for p in psutil.Process(server.proc.pid).children() if "spawn_main" in " ".join(p.cmdline())]
    assert len(children) == 1, [p.cmdline() for p in children]
    return children[0]


def in_namespace(server, command: str) -> None:
    """Run a shell command in the server's mount namespace (as root, as the test is)."""
    subprocess.run(["nsenter", "-t", str(server.proc.pid), "-m", "sh", "-c", command], check=True, timeout=30)


def test_a_killed_worker_process_is_restarted_and_its_job_completes(tmp_path: Path, tiny_cache: Path) -> None:
    """A segfault, CUDA fault or OOM kill in the engine ends the worker's process, not the API's."""
    with live_server(tmp_path / "data", tiny_cache, lease_seconds="3") as server:
        first = worker_child(server)
        request_id = submit(server, PRO, duration=15).json()["request_id"]
        wait_for(lambda: status(server, request_id)["status"] == "in_progress", 60,
                 lambda: f"the long request never started: {status(server, request_id)}")
        first.send_signal(signal.SIGKILL)
        answered = [httpx.get(f"{server.base}/healthz", timeout=5).status_code for _ in range(5)]
        assert answered == [200] * 5, f"the API stopped answering when the worker died: {answered}"
        wait_for(lambda: status(server, request_id)["status"] == "completed", 120,
                 lambda: f"the request did not complete after its worker was killed: {status(server, request_id)}")
        assert worker_child(server).pid != first.pid
        text = server.log.read_text()
        assert "the worker process died (killed by SIGKILL)" in text, text[-3000:]
        assert f"job {request_id} completed" in text and "(attempt 2)" in text, text[-3000:]
        # The worker child's numbers reach the server's /metrics beside the server's own.
        scraped = httpx.get(f"{server.base}/metrics", timeout=10).text
        assert 'reelserve_jobs_finished_total{error_code="",model="kling/kling-3.0/pro/text-to-video",' \
               'outcome="completed"} 1.0' in scraped, scraped[:3000]
        assert 'reelserve_http_requests_total{method="POST"' in scraped, scraped[:3000]


def test_a_full_disk_is_a_503_and_no_accepted_request_is_lost(tmp_path: Path, tiny_cache: Path) -> None:
    data = tmp_path / "data"
    with live_server(data, tiny_cache, mount="mount -t tmpfs -o size=24m tmpfs $D") as server:
        filler = f"{data}/filler"
        accepted = submit(server, duration=5)
        assert accepted.status_code == 200
        in_namespace(server, f"dd if=/dev/zero of={filler} bs=1M 2>/dev/null; sync; true")  # until ENOSPC
        answers = [submit(server) for _ in range(5)]
        assert {a.status_code for a in answers} == {503}, [(a.status_code, a.text) for a in answers]
        assert "disk is full" in answers[0].json()["error_message"] and answers[0].headers["retry-after"] == "30"
        health = httpx.get(f"{server.base}/healthz", timeout=5)
        assert health.status_code == 503 and "disk is full" in health.json()["error_message"]
        time.sleep(3)  # the accepted request meets the full disk meanwhile, and must not fail or stop the server
        assert server.proc.poll() is None, server.log.read_text()[-3000:]
        request_id = accepted.json()["request_id"]
        assert status(server, request_id)["status"] in ("in_queue", "in_progress"), status(server, request_id)
        in_namespace(server, f"rm -f {filler}")
        assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
        after = submit(server)
        assert after.status_code == 200, after.text
        for rid in (request_id, after.json()["request_id"]):
            wait_for(lambda rid=rid: status(server, rid)["status"] == "completed", 120,
                     lambda rid=rid: f"request {rid} was lost to the full disk: {status(server, rid)}")


# Root without the capabilities that override file modes: a chmod then stops it as it stops any other user.
NO_DAC_OVERRIDE = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--")


BURST = 24  # submits at once: well past the pool's 8 connections (store/sqlite.py), within the 60 a minute per key


def burst(server, count: int) -> list[httpx.Response]:
    """`count` submits released together: the server holds them all at once, so its connection pool must open
    new connections (an idle one is reused; only a new one meets the file's mode). Sent one thread a submit,
    each waiting at a barrier, since a thread pool of fewer threads spread them out and, on a fast run, the
    server's one or two idle connections served every one."""
    gate = threading.Barrier(count)

    def one(_: int) -> httpx.Response:
        gate.wait(timeout=30)
        return submit(server)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_a_read_only_spell_is_a_503_and_the_server_recovers_by_itself(tmp_path: Path, tiny_cache: Path) -> None:
    """The data dir and database made read-only for a while, then writable again. Connections opened during
    the spell once opened read-only and stayed so: every submit on their threads answered 500 until a restart."""
    data = tmp_path / "data"
    files = [data, *(data / f"reelserve.db{suffix}" for suffix in ("", "-wal", "-shm"))]

    def chmod(mode: int) -> None:
        for path in files:
            path.chmod(mode | (0o100 if path == data else 0))

    with live_server(data, tiny_cache, worker=False, prefix=NO_DAC_OVERRIDE) as server:
        assert submit(server).status_code == 200
        chmod(0o400)
        during = burst(server, BURST)
        assert {a.status_code for a in during} <= {200, 503}, [(a.status_code, a.text) for a in during]
        refused = [a for a in during if a.status_code == 503]
        assert refused, f"no submit needed a new connection during the spell: {[a.status_code for a in during]}"
        assert all("read-only" in a.json()["error_message"] for a in refused), [a.text for a in refused]
        health = httpx.get(f"{server.base}/healthz", timeout=5)
        assert health.status_code == 503 and "read-only" in health.json()["error_message"]
        chmod(0o600)
        after = burst(server, BURST)
        assert [a.status_code for a in after] == [200] * 24, [(a.status_code, a.text) for a in after if a.status_code != 200]
        assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200


@pytest.fixture(autouse=True)
def _needs_namespaces() -> None:
    if os.geteuid() != 0:
        pytest.fail("these tests make mounts in a private namespace: run them as root, as CI does")
