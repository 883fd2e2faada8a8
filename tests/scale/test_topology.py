"""The scale-out topology for real: 2 API replicas and 3 workers on one PostgreSQL and one S3 bucket.

300 requests go in through both replicas; one worker is SIGKILLed in the middle of a request. Every
request must complete exactly once (one committed result, one object in the bucket), and the
killed worker's request must be finished by another worker once its lease runs out. The API
processes are the real `reelserve serve --no-worker`; the workers are the real `Worker` with the
scripted engine of tests/reliability/harness.py, so 300 requests fit in seconds on two cores.
"""

from __future__ import annotations

import os
import signal
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from reelserve.client import Client
from tests.mp4probe import probe_mp4
from reelserve.store import Status
from reelserve.store.postgres import PostgresJobStore
from tests.conftest import S3_CREDENTIALS
from tests.live import live_server
from tests.reliability.conftest import Fleet

MODEL = "kling/kling-3.0/standard/text-to-video"
REQUESTS = 300
LEASE = 3.0  # heartbeats every 1 s; generous, because 7 busy processes share 2 cores here


def test_two_api_replicas_and_three_workers_complete_300_requests_exactly_once(
        tmp_path: Path, tiny_cache: Path, pg_url: str, s3_endpoint: str, s3_url: str) -> None:
    shared = {"database_url": pg_url, "storage_url": s3_url, "s3_endpoint_url": s3_endpoint, **S3_CREDENTIALS}
    env = {f"REELSERVE_{k.upper()}": v for k, v in shared.items()}
    store = PostgresJobStore(pg_url)
    fleet = Fleet(tmp_path / "workers", lease=LEASE, env=env, store=store)
    _, key = store.create_key("topology")
    api = {"max_active_per_key": "0", "submits_per_minute": "0", **shared}
    try:
        with live_server(tmp_path / "api-0", tiny_cache, worker=False, key=key, **api) as first, \
                live_server(tmp_path / "api-1", tiny_cache, worker=False, key=key, **api) as second:
            workers = fleet.start(3)
            replicas = [first, second]
            started = time.monotonic()
            ids, latencies = _submit_all(replicas, key)
            victim_id = ids[REQUESTS // 2]
            killed_pid = _kill_the_worker_running(fleet, victim_id)
            jobs = fleet.wait_finished(ids, timeout=180)
            elapsed = time.monotonic() - started
            _check_results_through_both_replicas(replicas, key, [ids[0], victim_id, ids[-1]], tmp_path)
            assert sum(p.poll() is None for p in workers) == 2
    finally:
        fleet.stop_all()

    assert all(job.status is Status.COMPLETED for job in jobs.values()), Counter(j.status.value for j in jobs.values())
    committed = Counter(event["job"] for event in fleet.events("committed"))
    assert set(committed) == set(ids) and set(committed.values()) == {1}, "a request was committed twice or never"
    runs = sorted((e for e in fleet.events("run") if e["seed"] == REQUESTS // 2), key=lambda e: e["t"])
    assert [e["pid"] for e in runs][0] == killed_pid and runs[-1]["pid"] != killed_pid
    finisher = next(e["pid"] for e in fleet.events("committed") if e["job"] == victim_id)
    assert finisher != killed_pid and jobs[victim_id].attempts == 2
    rerun = {job_id: job.attempts for job_id, job in jobs.items() if job_id != victim_id and job.attempts != 1}
    assert not rerun, f"{rerun}\n{[e for e in fleet.events() if e.get('job') in rerun or e['kind'] == 'lease_lost']}"

    objects = _bucket_keys(s3_endpoint, s3_url)
    videos = [k for k in objects if k.endswith("/video.mp4")]
    assert len(videos) == REQUESTS and {k.split("/")[0] for k in videos} == set(ids), "one video per request"
    assert sorted(k.replace("poster.jpg", "video.mp4") for k in objects if k.endswith("/poster.jpg")) == sorted(videos)
    per_worker = Counter(e["pid"] for e in fleet.events("committed"))
    assert len(per_worker) == 3, f"every worker should have committed some requests: {per_worker}"
    p50, p99 = statistics.median(latencies), statistics.quantiles(latencies, n=100)[98]
    print(f"\n2 API replicas + 3 workers on PostgreSQL + S3: {REQUESTS} requests completed exactly once in "
          f"{elapsed:.1f} s; per worker {sorted(per_worker.values())}; submit p50 {p50 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms; worker {killed_pid} SIGKILLed mid-request, finished by {finisher}")


def _submit_all(replicas, key: str) -> tuple[list[str], list[float]]:
    """300 submits from 8 client threads, alternating replicas; the middle one runs long enough to be killed."""
    clients = [httpx.Client(base_url=r.base, headers={"Authorization": f"Bearer {key}"}, timeout=30) for r in replicas]

    def submit(i: int) -> tuple[str, float]:
        prompt = "sleep:4" if i == REQUESTS // 2 else "sleep:0.05"
        began = time.perf_counter()
        answer = clients[i % 2].post(f"/v1/models/{MODEL}", json={"prompt": prompt, "duration": 3, "seed": i})
        assert answer.status_code == 200, answer.text
        return answer.json()["request_id"], time.perf_counter() - began

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(submit, range(REQUESTS)))
    for client in clients:
        client.close()
    return [r[0] for r in results], [r[1] for r in results]


def _kill_the_worker_running(fleet: Fleet, job_id: str) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = fleet.store.get(job_id)
        if job.status is Status.IN_PROGRESS and (job.progress or 0) > 0:
            pid = next(e["pid"] for e in fleet.events("run") if e["seed"] == REQUESTS // 2)
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.05)
    raise AssertionError(f"request {job_id} never started\n{fleet.logs()}")


def _check_results_through_both_replicas(replicas, key: str, ids: list[str], tmp_path: Path) -> None:
    for replica in replicas:
        for job_id in ids:
            result = httpx.get(f"{replica.base}/v1/requests/{job_id}/result",
                               headers={"Authorization": f"Bearer {key}"}).json()
            assert result["status"] == "completed", result
            video = httpx.get(result["output"]["video"])
            assert video.status_code == 200
            (tmp_path / "v.mp4").write_bytes(video.content)
            assert probe_mp4(tmp_path / "v.mp4").frames == 4
    with Client(replicas[1].base, key) as client:  # the SDK, fetching a presigned S3 link
        saved = client.handle(ids[1]).download(tmp_path / "sdk.mp4")
        assert probe_mp4(saved).frames == 4


def _bucket_keys(endpoint: str, url: str) -> list[str]:
    import boto3

    bucket = url.removeprefix("s3://").split("/", 1)[0]
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="a", aws_secret_access_key="b",
                          region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"].removeprefix("videos/") for page in pages for item in page.get("Contents", [])]
