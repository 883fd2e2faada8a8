"""The whole stack over HTTP under concurrency: a real `reelserve serve` plus a second worker process on one SQLite file."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.live import LiveServer, health, live_server, reelserve_env

STANDARD = "kling/kling-3.0/standard/text-to-video"
BODY = {"prompt": "rain on a tin roof", "duration": 3, "aspect_ratio": "1:1"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, tiny_cache):
    data_dir = tmp_path_factory.mktemp("stack")
    limits = {"max_active_per_key": "0", "submits_per_minute": "0", "max_body_bytes": "4096"}
    with live_server(data_dir, tiny_cache, **limits) as server:
        with open(data_dir / "worker.log", "w") as log:
            worker = subprocess.Popen([sys.executable, "-m", "reelserve.cli", "worker", "--data-dir", str(data_dir),
                                       "--weights", "tiny"], stdout=log, stderr=subprocess.STDOUT,
                                      env=reelserve_env(tiny_cache, **limits))
            try:
                _wait_for_ready_workers(server, 2)
                yield server
            finally:
                worker.terminate()
                assert worker.wait(timeout=60) == 0
        logs = server.log.read_text() + (data_dir / "worker.log").read_text()
        assert "database is locked" not in logs and server.key not in logs


def _wait_for_ready_workers(server: LiveServer, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        workers = health(server.base, server.key)["workers"]
        if sum(w["engine"].get("state") == "ready" for w in workers) >= count:
            return
        time.sleep(0.2)
    raise AssertionError("the second worker never became ready")


def test_sqlite_contention_never_reaches_a_client(stack: LiveServer) -> None:
    """16 clients submit, poll and cancel at once while two workers claim, renew leases and complete."""
    codes: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()

    def call(client: httpx.Client, method: str, url: str, headers: dict | None = None, **kw) -> httpx.Response:
        began = time.perf_counter()
        response = client.request(method, url, headers={**stack.auth, **(headers or {})}, timeout=60, **kw)
        with lock:
            codes[response.status_code] += 1
            latencies.append(time.perf_counter() - began)
        assert "locked" not in response.text, response.text
        return response

    def client_session(i: int) -> None:
        with httpx.Client(base_url=stack.base) as client:
            for j in range(12):
                headers = {"Idempotency-Key": f"c{i}-{j}"} if j % 2 else {}
                rid = call(client, "POST", f"/v1/models/{STANDARD}", json={**BODY, "seed": i * 100 + j},
                           headers=headers).json()["request_id"]
                for _ in range(3):
                    call(client, "GET", f"/v1/requests/{rid}/status")
                call(client, "GET", f"/v1/requests/{rid}/result")
                if j % 3 == 0:
                    call(client, "POST", f"/v1/requests/{rid}/cancel")

    began = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(client_session, range(16)))
    elapsed = time.monotonic() - began
    latencies.sort()
    total = sum(codes.values())
    print(f"\nSQLite contention: {total} calls from 16 clients in {elapsed:.1f} s ({total / elapsed:.0f}/s) beside "
          f"2 busy workers; statuses {dict(codes)}; p50 {latencies[total // 2] * 1000:.0f} ms, "
          f"p99 {latencies[int(total * 0.99)] * 1000:.0f} ms")
    assert set(codes) == {200}
    _cancel_everything_queued(stack)


def _cancel_everything_queued(stack: LiveServer) -> None:
    """So the module's shutdown does not wait on a queue of tiny videos.

    The ids are read in full and the connection closed before cancelling through the API: a write on a
    connection whose read is still open fails at once with SQLITE_BUSY_SNAPSHOT (busy_timeout does not
    apply) whenever a worker commits in between, which made this helper flaky.
    """
    with contextlib.closing(sqlite3.connect(stack.log.parent / "reelserve.db", timeout=30)) as conn:
        queued = [row[0] for row in conn.execute("SELECT id FROM jobs WHERE status = 'in_queue'").fetchall()]
    with httpx.Client(base_url=stack.base, headers=stack.auth, timeout=60) as client:
        for request_id in queued:
            # "not_cancellable" when a worker claimed it first: either way it no longer waits in the queue.
            assert client.post(f"/v1/requests/{request_id}/cancel").status_code == 200


def test_concurrent_duplicate_submits_over_http_make_one_request(stack: LiveServer) -> None:
    key = str(uuid.uuid4())
    barrier = threading.Barrier(12)

    def submit(_: int) -> httpx.Response:
        barrier.wait()
        return httpx.post(f"{stack.base}/v1/models/{STANDARD}", json=BODY, timeout=60,
                          headers={**stack.auth, "Idempotency-Key": key})

    with ThreadPoolExecutor(12) as pool:
        responses = list(pool.map(submit, range(12)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["request_id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 11
    print("\nidempotency over HTTP: 12 simultaneous submits with one key -> 1 request, 11 replays")


def test_413_with_and_without_content_length(stack: LiveServer) -> None:
    url = f"{stack.base}/v1/models/{STANDARD}"
    big = b'{"prompt": "' + b"a" * 8000 + b'"}'
    declared = httpx.post(url, content=big, headers={**stack.auth, "Content-Type": "application/json"})

    def chunks():
        for start in range(0, len(big), 1000):
            yield big[start:start + 1000]

    chunked = httpx.post(url, content=chunks(), headers={**stack.auth, "Content-Type": "application/json"})
    assert "content-length" not in chunked.request.headers and chunked.request.headers["transfer-encoding"] == "chunked"
    for response in (declared, chunked):
        assert response.status_code == 413 and response.json()["error_code"] == 413001
