"""End to end with the tiny engine: `reelserve serve` generates, tells a real receiver on 127.0.0.1
(signed, verified with the `standardwebhooks` package), and streams each request's status."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
import standardwebhooks

from reelserve.client import Client, InProgress, Queued
from reelserve.store import SqliteJobStore
from tests.live import live_server
from tests.delivery.receiver import receiver

STANDARD = "kling/kling-3.0/standard/text-to-video"
BODY = {"prompt": "a red fox running through snow", "duration": 3}


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_cache):
    data = tmp_path_factory.mktemp("serve")
    with live_server(data, tiny_cache, webhook_allow_private="true") as live:
        yield live, data


def read_events(base: str, request_id: str, auth: dict[str, str]) -> list[tuple[str, dict]]:
    """Every event of one stream, until the server closes it."""
    events, name = [], None
    with httpx.stream("GET", f"{base}/v1/requests/{request_id}/events", headers=auth, timeout=60) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def test_a_request_streams_position_progress_and_result_in_order_and_tells_the_webhook(server) -> None:
    live, _ = server
    with receiver([200]) as hook, Client(live.base, live.key) as client:
        ahead = [client.submit(STANDARD, BODY) for _ in range(2)]  # one generating, one waiting
        followed = client.submit(STANDARD, {**BODY, "seed": 7}, webhook=hook.url, webhook_events=["started"])
        events = read_events(live.base, followed.request_id, live.auth)
        for handle in ahead:
            handle.wait(timeout=120)
        deadline = time.monotonic() + 30
        while len(hook.received) < 2:
            assert time.monotonic() < deadline, hook.received
            time.sleep(0.05)
        secret = httpx.get(f"{live.base}/v1/webhooks/default/secret", headers=live.auth).json()["key"]
        result = httpx.get(f"{live.base}/v1/requests/{followed.request_id}/result", headers=live.auth).json()
        log = httpx.get(f"{live.base}/v1/requests/{followed.request_id}/webhooks", headers=live.auth).json()

    # The stream: queued (position counting down), running (progress rising), then the result, once.
    names = [name for name, _ in events]
    assert names[-1] == "result" and names.count("result") == 1 and set(names[:-1]) == {"status"}
    statuses = [body["status"] for _, body in events[:-1]]
    assert statuses[0] == "in_queue" and "in_progress" in statuses
    assert statuses == sorted(statuses, key=["in_queue", "in_progress"].index)
    positions = [b["queue_position"] for _, b in events[:-1] if b["status"] == "in_queue"]
    progress = [b["progress"] for _, b in events[:-1] if b["status"] == "in_progress"]
    assert positions[0] >= 1 and positions == sorted(positions, reverse=True)
    assert progress == sorted(progress) and len(set(map(json.dumps, events))) == len(events)  # each one a change
    assert events[-1][1]["status"] == "completed" and events[-1][1]["output"]["video"]

    # The webhook: started then completed, each verified by the reference package.
    verifier = standardwebhooks.Webhook(secret)
    received = [verifier.verify(got.body, got.headers) for got in hook.received]
    assert [e["type"] for e in received] == ["request.started", "request.completed"]
    assert [got.headers["webhook-id"] for got in hook.received] == [
        f"msg_{followed.request_id}_started", f"msg_{followed.request_id}_completed"]
    completed = received[1]["data"]
    same = {k: v for k, v in result.items() if k != "output"}
    assert {k: v for k, v in completed.items() if k != "output"} == same
    video = httpx.get(completed["output"]["video"], timeout=30)  # a signed link of its own, no key
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert [d["state"] for d in log["deliveries"]] == ["delivered", "delivered"]
    assert all(d["attempts"][0]["status_code"] == 200 for d in log["deliveries"])


def test_the_sdk_waits_on_the_stream(server) -> None:
    live, _ = server
    updates: list = []
    with Client(live.base, live.key) as client:
        result = client.run(STANDARD, BODY, timeout=120, on_update=updates.append)
    assert result.status == "completed" and result.video_url
    assert any(isinstance(u, (Queued, InProgress)) for u in updates)


def test_a_foreign_key_gets_the_same_404_as_an_unknown_id(server) -> None:
    live, data = server
    store = SqliteJobStore(data / "reelserve.db")
    try:
        _, other = store.create_key("stranger")
    finally:
        store.close()
    request_id = httpx.post(f"{live.base}/v1/models/{STANDARD}", json=BODY, headers=live.auth).json()["request_id"]
    foreign = httpx.get(f"{live.base}/v1/requests/{request_id}/events", headers={"Authorization": f"Bearer {other}"})
    unknown = httpx.get(f"{live.base}/v1/requests/00000000-0000-4000-8000-000000000000/events", headers=live.auth)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json() and foreign.json()["error_code"] == 404001
    assert httpx.get(f"{live.base}/v1/requests/{request_id}/events").status_code == 401
    # A finished request's stream is its result, at once.
    Client(live.base, live.key).handle(request_id).wait(timeout=120)
    assert [name for name, _ in read_events(live.base, request_id, live.auth)] == ["result"]


def test_a_cancelled_request_ends_its_stream_with_the_cancellation(server, tmp_path: Path) -> None:
    live, _ = server
    with Client(live.base, live.key) as client:
        busy = [client.submit(STANDARD, BODY) for _ in range(2)]
        queued = client.submit(STANDARD, BODY)
        with httpx.stream("GET", f"{live.base}/v1/requests/{queued.request_id}/events", headers=live.auth,
                          timeout=60) as stream:
            lines = stream.iter_lines()
            first = next(line for line in lines if line.startswith("data: "))
            assert json.loads(first.removeprefix("data: "))["status"] == "in_queue"
            assert queued.cancel()
            rest = [line for line in lines if line.startswith(("event: ", "data: "))]
        for handle in busy:
            handle.wait(timeout=120)
    assert rest[-2] == "event: result" and json.loads(rest[-1].removeprefix("data: "))["status"] == "cancelled"
