"""Delivery across processes and crashes: real `reelserve serve` and worker processes, a real receiver
on 127.0.0.1, PostgreSQL for the shared case; and open event streams when serve stops."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import standardwebhooks

from reelserve.store import DeliveryState, Webhook
from reelserve.store.postgres import PostgresJobStore
from tests.live import free_port, reelserve_env
from tests.reliability.conftest import Fleet
from tests.delivery.receiver import Received, receiver

FAST_RETRIES = {"webhook_allow_private": "true", "webhook_retry_seconds": "0.2"}


def _serve(data_dir: Path, port: int, tiny_cache: Path, log: Path, **settings: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "reelserve.cli", "serve", "--no-worker", "--port", str(port),
               "--data-dir", str(data_dir)]
    out = open(log, "a")  # noqa: SIM115 - the child holds it
    return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=reelserve_env(tiny_cache, **settings))


def _ready(base: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(log.read_text())


def _deliveries(base: str, auth: dict[str, str], request_id: str) -> list[dict]:
    return httpx.get(f"{base}/v1/requests/{request_id}/webhooks", headers=auth, timeout=5).json()["deliveries"]


def test_serve_killed_during_backoff_delivers_after_restart_with_one_2xx_per_event(
        tmp_path: Path, tiny_cache: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "serve.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {**FAST_RETRIES, "webhook_retry_seconds": "3"}  # the first retry waits about 3 s: the kill lands in it
    answered_2xx: Counter[str] = Counter()

    def decide(got: Received) -> int:
        # Each event's first attempt fails; after that, 200.
        with lock:
            seen[got.headers["webhook-id"]] += 1
            if seen[got.headers["webhook-id"]] == 1:
                return 500
            answered_2xx[got.headers["webhook-id"]] += 1
            return 200

    lock, seen = threading.Lock(), Counter()
    with receiver(decide=decide) as hook:
        proc = _serve(data, port, tiny_cache, log, **settings)
        try:
            _ready(base, proc, log)
            auth = {"Authorization": f"Bearer {(data / 'first-api-key').read_text().strip()}"}
            ids = []
            for _ in range(3):
                submitted = httpx.post(f"{base}/v1/models/kling/kling-3.0/standard/text-to-video",
                                       params={"webhook": hook.url}, json={"prompt": "a cat"}, headers=auth)
                ids.append(submitted.json()["request_id"])
                assert httpx.post(f"{base}/v1/requests/{ids[-1]}/cancel", headers=auth).json()["outcome"] == "cancelled"
            deadline = time.monotonic() + 20
            while not all(len(_deliveries(base, auth, i)[0]["attempts"]) == 1 for i in ids):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            assert all(_deliveries(base, auth, i)[0]["state"] == "pending" for i in ids)
            proc.send_signal(signal.SIGKILL)  # in the backoff: no attempt in flight, the retries are due in ~3 s
            proc.wait(10)
            assert len(hook.received) == 3
            proc = _serve(data, port, tiny_cache, log, **settings)
            _ready(base, proc, log)
            deadline = time.monotonic() + 30
            while not all(_deliveries(base, auth, i)[0]["state"] == "delivered" for i in ids):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(30)
    assert sorted(answered_2xx) == sorted(f"msg_{i}_cancelled" for i in ids)
    assert set(answered_2xx.values()) == {1}, answered_2xx  # exactly one 2xx per event id
    for request_id in ids:
        [delivery] = _deliveries_from_store(data, request_id)
        assert [a.status_code for a in delivery.attempts] == [500, 200]


def _deliveries_from_store(data: Path, request_id: str):
    from reelserve.store import SqliteJobStore

    store = SqliteJobStore(data / "reelserve.db")
    try:
        return store.webhook_deliveries(request_id)
    finally:
        store.close()


def test_two_worker_processes_on_postgres_deliver_every_event_never_twice_at_once(tmp_path: Path, pg_url: str) -> None:
    store = PostgresJobStore(pg_url)
    env = {"REELSERVE_DATABASE_URL": pg_url, "REELSERVE_WEBHOOK_ALLOW_PRIVATE": "true",
           "REELSERVE_WEBHOOK_RETRY_SECONDS": "0.1", "REELSERVE_WEBHOOK_CONCURRENCY": "4"}
    fleet = Fleet(tmp_path / "workers", lease=2.0, env=env, store=store, args=["--webhooks"])
    lock = threading.Lock()
    in_flight: Counter[str] = Counter()
    overlaps: list[str] = []
    attempts: Counter[str] = Counter()
    delivered: Counter[str] = Counter()

    def decide(got: Received) -> int | float:
        msg = got.headers["webhook-id"]
        with lock:
            attempts[msg] += 1
            in_flight[msg] += 1
            if in_flight[msg] > 1:
                overlaps.append(msg)
            first = attempts[msg] == 1
        time.sleep(0.05)  # long enough for a second sender of the same attempt to overlap
        with lock:
            in_flight[msg] -= 1
            if not first:
                delivered[msg] += 1
        return 503 if first else 200  # every event's first attempt fails: retries are claimed again

    try:
        with receiver(decide=decide) as hook:
            fleet.start(2)
            ids = [store.submit_request(fleet.owner, "kling/kling-3.0/standard/text-to-video",
                                        {"prompt": "sleep:0.05", "duration": 3, "seed": n},
                                        webhook=Webhook(hook.url, frozenset({"started"})))[0].id for n in range(30)]
            fleet.wait_finished(ids, timeout=120)
            expected = {f"msg_{i}_{kind}" for i in ids for kind in ("started", "completed")}
            deadline = time.monotonic() + 60
            while set(delivered) != expected:
                assert time.monotonic() < deadline, (len(delivered), fleet.logs())
                time.sleep(0.1)
            time.sleep(0.5)  # nothing more arrives
            secret = store.webhook_secret(fleet.owner)
            for got in hook.received:
                standardwebhooks.Webhook(secret).verify(got.body, got.headers)
            states = {d.event.state for i in ids for d in store.webhook_deliveries(i)}
    finally:
        fleet.stop_all()
    assert overlaps == []
    assert set(delivered.values()) == {1} and set(attempts.values()) == {2}
    assert states == {DeliveryState.DELIVERED}
    jobs_by_worker = Counter(e["pid"] for e in fleet.events("committed"))
    assert len(jobs_by_worker) == 2, "both workers ran jobs"


def test_stopping_serve_ends_open_event_streams_cleanly(tmp_path: Path, tiny_cache: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "serve.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(data, port, tiny_cache, log)
    lines: list[str] = []
    try:
        _ready(base, proc, log)
        auth = {"Authorization": f"Bearer {(data / 'first-api-key').read_text().strip()}"}
        request_id = httpx.post(f"{base}/v1/models/kling/kling-3.0/standard/text-to-video", json={"prompt": "a cat"},
                                headers=auth).json()["request_id"]

        def follow() -> None:
            with httpx.stream("GET", f"{base}/v1/requests/{request_id}/events", headers=auth, timeout=30) as stream:
                lines.extend(stream.iter_lines())  # raises if the response is cut off mid-body

        follower = threading.Thread(target=follow)
        follower.start()
        deadline = time.monotonic() + 10
        while not any(line.startswith("data: ") for line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        began = time.monotonic()
        proc.terminate()
        assert proc.wait(30) == 0
        stopped_in = time.monotonic() - began
        follower.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not follower.is_alive() and any('"status":"in_queue"' in line for line in lines), lines
    assert stopped_in < 10, stopped_in  # an open stream does not hold the shutdown up
    assert "ASGI callable returned without completing response" not in log.read_text()
