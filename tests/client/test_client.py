"""The SDK against httpx.MockTransport: every method, status parsing, error mapping and retry rules,
each run on both `Client` and `AsyncClient`."""

from __future__ import annotations

import asyncio
import inspect
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from reelserve.client import (
    AsyncClient, AsyncRequestHandle, AuthenticationError, Cancelled, Client, Completed, Failed, InProgress,
    NotFoundError, Queued, RateLimitedError, ReelserveClientError, RequestCancelledError, RequestFailedError,
    RequestTimeoutError, RetryPolicy, ServerError, TransportError, ValidationError,
)

BASE = "http://video.test"
MODEL = "kling/kling-3.0/standard/text-to-video"
RID = "req_123"
NO_WAIT = RetryPolicy(max_retries=3, base_delay=0.0)


class Server:
    """Scripted answers per (method, path): each call takes the next one; the last one repeats."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list] = {}
        self.seen: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers) -> Server:
        self.routes[(method, path)] = list(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answers = self.routes.get((request.method, request.url.path))
        if not answers:
            return httpx.Response(404, json={"error_code": 404001, "error_message": "no such route"})
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, httpx.Response):  # given whole: an event stream
            return answer
        status, body = answer if isinstance(answer, tuple) else (200, answer)
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body, headers={"Retry-After": "0"} if status == 429 else {})

    def calls(self, path: str) -> int:
        return sum(1 for r in self.seen if r.url.path == path)


class Blocking:
    """Drives an AsyncClient (or handle) through the same calls as a Client, so each test runs on both."""

    def __init__(self, target) -> None:
        self._target = target

    def __getattr__(self, name: str):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            value = asyncio.run(attr(*args, **kwargs)) if inspect.iscoroutinefunction(attr) else attr(*args, **kwargs)
            return Blocking(value) if isinstance(value, AsyncRequestHandle) else value

        return call


@pytest.fixture(params=["sync", "async"])
def connect(request):
    def make(server: Server, **kwargs):
        kwargs.setdefault("retry", NO_WAIT)
        if request.param == "sync":
            return Client(BASE, "rs_key", transport=httpx.MockTransport(server), **kwargs)
        return Blocking(AsyncClient(BASE, "rs_key", transport=httpx.MockTransport(server), **kwargs))

    return make


def status(state: str, **extra) -> dict:
    return {"request_id": RID, "status": state, **extra}


def result(state: str = "completed", **extra) -> dict:
    body = {"request_id": RID, "model_id": MODEL, "status": state, "created_at": "2026-11-21T10:00:00.000Z",
            "started_at": None, "finished_at": None}
    if state == "completed":
        body |= {"output": {"video": f"{BASE}/media/{RID}/video.mp4?sig=x"}, "metadata": {"width": 1280}}
    return body | extra


SUBMITTED = {"request_id": RID, "status_url": f"{BASE}/v1/requests/{RID}/status",
             "result_url": f"{BASE}/v1/requests/{RID}/result", "cancel_url": f"{BASE}/v1/requests/{RID}/cancel"}
STATUS, RESULT, CANCEL, EVENTS = (f"/v1/requests/{RID}/{a}" for a in ("status", "result", "cancel", "events"))
SUBMIT = f"/v1/models/{MODEL}"


# --- methods ------------------------------------------------------------------------------------


def test_submit_sends_the_body_with_the_key(connect) -> None:
    server = Server().on("POST", SUBMIT, SUBMITTED)
    handle = connect(server).submit(MODEL, {"prompt": "a fox", "duration": 5})
    assert handle.request_id == RID
    sent = server.seen[0]
    assert sent.headers["authorization"] == "Bearer rs_key" and json.loads(sent.content) == {"prompt": "a fox", "duration": 5}
    assert "idempotency-key" not in sent.headers


@pytest.mark.parametrize("body,expected", [
    (status("in_queue", queue_position=2), Queued(RID, 2)),
    (status("in_progress", progress=42.5), InProgress(RID, 42.5)),
    (status("completed"), Completed(RID)),
    (status("failed", error={"code": "out_of_memory", "message": "too big"}), Failed(RID, "out_of_memory", "too big")),
    (status("cancelled"), Cancelled(RID)),
    # Other RunComfy-compatible servers: other spellings, optional fields missing.
    (status("IN_QUEUE"), Queued(RID, None)), (status("queued"), Queued(RID, None)),
    (status("running"), InProgress(RID, None)), (status("succeeded"), Completed(RID)),
    (status("canceled"), Cancelled(RID)), ({"status": "failed"}, Failed(RID, None, None)),
])
def test_status_parsing(connect, body, expected) -> None:
    assert connect(Server().on("GET", STATUS, body)).handle(RID).status() == expected


def test_unknown_status_is_an_error_not_a_guess(connect) -> None:
    with pytest.raises(ReelserveClientError, match="unknown status 'exploded'"):
        connect(Server().on("GET", STATUS, status("exploded"))).handle(RID).status()


def test_result_completed_unfinished_and_fal_style(connect) -> None:
    done = connect(Server().on("GET", RESULT, result())).handle(RID).result()
    assert (done.status, done.video_url, done.metadata, done.model_id) == (
        "completed", f"{BASE}/media/{RID}/video.mp4?sig=x", {"width": 1280}, MODEL)
    running = connect(Server().on("GET", RESULT, result("in_progress"))).handle(RID).result()
    assert running.status == "in_progress" and running.video_url is None
    fal = connect(Server().on("GET", RESULT, {"status": "succeeded", "output": {"video": {"url": "http://v/x.mp4"}}}))
    assert fal.handle(RID).result().video_url == "http://v/x.mp4"
    failed = connect(Server().on("GET", RESULT, result("failed", error={"code": "invalid_input", "message": "m"})))
    assert failed.handle(RID).result().error == Failed(RID, "invalid_input", "m")


@pytest.mark.parametrize("body,cancelled", [
    ({"request_id": RID, "status": "cancelled", "outcome": "cancelled"}, True),
    ({"request_id": RID, "status": "in_progress", "outcome": "not_cancellable"}, False),
    ({"status": "canceled"}, True),
])
def test_cancel(connect, body, cancelled) -> None:
    assert connect(Server().on("POST", CANCEL, body)).handle(RID).cancel() is cancelled


def test_wait_reports_each_change_and_returns_the_result(connect) -> None:
    server = Server().on("GET", STATUS, status("in_queue", queue_position=1), status("in_queue", queue_position=1),
                         status("in_queue", queue_position=0), status("in_progress", progress=50),
                         status("completed")).on("GET", RESULT, result())
    updates: list = []
    done = connect(server).handle(RID).wait(poll_interval=0, on_update=updates.append)
    assert updates == [Queued(RID, 1), Queued(RID, 0), InProgress(RID, 50), Completed(RID)]
    assert done.video_url is not None


def event_stream(*events: tuple[str, dict]) -> httpx.Response:
    text = "".join(f"event: {name}\ndata: {json.dumps(body)}\n\n" for name, body in events)
    return httpx.Response(200, content=(": ping\n\n" + text).encode(), headers={"content-type": "text/event-stream"})


def test_wait_follows_the_event_stream_when_the_server_has_one(connect) -> None:
    server = Server().on("GET", EVENTS, event_stream(
        ("status", status("in_queue", queue_position=1)), ("status", status("in_queue", queue_position=0)),
        ("status", status("in_progress", progress=40)), ("result", result())))
    updates: list = []
    done = connect(server).handle(RID).wait(poll_interval=0, on_update=updates.append)
    assert updates == [Queued(RID, 1), Queued(RID, 0), InProgress(RID, 40), Completed(RID)]
    assert done.video_url == result()["output"]["video"] and done.metadata == {"width": 1280}
    assert server.calls(STATUS) == server.calls(RESULT) == 0  # nothing polled
    assert server.seen[0].headers["authorization"] == "Bearer rs_key"


def test_a_stream_that_breaks_off_is_followed_by_polling(connect) -> None:
    server = Server().on("GET", EVENTS, event_stream(("status", status("in_progress", progress=10)))) \
        .on("GET", STATUS, status("completed")).on("GET", RESULT, result())
    updates: list = []
    assert connect(server).handle(RID).wait(poll_interval=0, on_update=updates.append).video_url is not None
    assert updates == [InProgress(RID, 10), Completed(RID)] and server.calls(STATUS) == 1


def test_a_server_without_event_streams_is_polled(connect) -> None:
    # Other RunComfy-compatible servers have no GET .../events: a 404 there, then polling.
    server = Server().on("GET", STATUS, status("completed")).on("GET", RESULT, result())
    assert connect(server).handle(RID).wait(poll_interval=0).status == "completed"
    assert server.calls(EVENTS) == 1 and server.calls(STATUS) == 1
    assert connect(server).handle(RID).wait(poll_interval=0, stream=False).status == "completed"
    assert server.calls(EVENTS) == 1  # stream=False never asks


def test_a_streamed_failure_raises_with_the_servers_reason(connect) -> None:
    failed = result("failed", error={"code": "engine_error", "message": "out of memory"})
    server = Server().on("GET", EVENTS, event_stream(("result", failed)))
    with pytest.raises(RequestFailedError) as info:
        connect(server).handle(RID).wait(poll_interval=0)
    assert (info.value.code, info.value.message) == ("engine_error", "out of memory")


def test_webhook_secret(connect) -> None:
    server = Server().on("GET", "/v1/webhooks/default/secret", {"key": "whsec_abc"})
    assert connect(server).webhook_secret() == "whsec_abc"
    assert server.seen[0].headers["authorization"] == "Bearer rs_key"


def test_submit_sends_a_webhook_in_the_query_and_the_input_as_the_body(connect) -> None:
    server = Server().on("POST", SUBMIT, SUBMITTED)
    connect(server).submit(MODEL, {"prompt": "a cat"}, webhook="https://hooks.example.com/x",
                           webhook_events=["started"])
    sent = server.seen[0]
    assert dict(sent.url.params) == {"webhook": "https://hooks.example.com/x", "webhook_events": "started"}
    assert json.loads(sent.content) == {"prompt": "a cat"}
    with pytest.raises(ReelserveClientError):
        connect(server).submit(MODEL, {"prompt": "a cat"}, webhook_events=["started"])


def test_wait_raises_with_the_servers_reason(connect) -> None:
    failed = Server().on("GET", STATUS, status("failed", error={"code": "invalid_input", "message": "too long"}))
    with pytest.raises(RequestFailedError) as info:
        connect(failed).handle(RID).wait(poll_interval=0)
    assert (info.value.request_id, info.value.code, info.value.message) == (RID, "invalid_input", "too long")
    with pytest.raises(RequestCancelledError):
        connect(Server().on("GET", STATUS, status("cancelled"))).handle(RID).wait(poll_interval=0)


def test_wait_timeout_keeps_the_request_id_and_leaves_the_request_alone(connect) -> None:
    server = Server().on("GET", STATUS, status("in_progress", progress=10))
    with pytest.raises(TimeoutError) as info:  # a RequestTimeoutError is also a TimeoutError
        connect(server).handle(RID).wait(timeout=0.05, poll_interval=0.01)
    assert isinstance(info.value, RequestTimeoutError)
    assert info.value.request_id == RID and info.value.last_status == "in_progress" and RID in str(info.value)
    assert server.calls(CANCEL) == 0


def test_download_streams_the_video_without_the_key(connect, tmp_path: Path) -> None:
    server = Server().on("GET", RESULT, result()).on("GET", f"/media/{RID}/video.mp4", (200, b"MP4DATA"))
    path = connect(server).handle(RID).download(tmp_path / "out.mp4")
    assert path.read_bytes() == b"MP4DATA" and not (tmp_path / "out.mp4.part").exists()
    media = server.seen[-1]
    assert media.url.params["sig"] == "x" and "authorization" not in media.headers


def test_download_retries_a_failing_media_server(connect, tmp_path: Path) -> None:
    server = Server().on("GET", RESULT, result()).on("GET", f"/media/{RID}/video.mp4", (503, b"busy"),
                                                     httpx.ReadError("reset"), (200, b"MP4DATA"))
    assert connect(server).handle(RID).download(tmp_path / "out.mp4").read_bytes() == b"MP4DATA"
    assert server.calls(f"/media/{RID}/video.mp4") == 3
    gone = Server().on("GET", RESULT, result()).on("GET", f"/media/{RID}/video.mp4", (403, b"expired"))
    with pytest.raises(ReelserveClientError, match="expired"):
        connect(gone).handle(RID).download(tmp_path / "gone.mp4")
    assert not (tmp_path / "gone.mp4").exists()


def test_download_before_completion_says_so(connect, tmp_path: Path) -> None:
    with pytest.raises(ReelserveClientError, match="no video yet"):
        connect(Server().on("GET", RESULT, result("in_queue"))).handle(RID).download(tmp_path / "x.mp4")


def test_run_submits_waits_and_downloads(connect, tmp_path: Path) -> None:
    server = (Server().on("POST", SUBMIT, SUBMITTED).on("GET", STATUS, status("in_progress"), status("completed"))
              .on("GET", RESULT, result()).on("GET", f"/media/{RID}/video.mp4", (200, b"V")))
    done = connect(server).run(MODEL, {"prompt": "x"}, download_to=tmp_path / "v.mp4", poll_interval=0)
    assert done.status == "completed" and (tmp_path / "v.mp4").read_bytes() == b"V"


def test_handle_checks_the_id_and_never_loses_it(connect) -> None:
    with pytest.raises(ReelserveClientError, match="not a request id"):
        connect(Server()).handle("../etc/passwd")
    assert connect(Server()).handle(RID).request_id == RID


# --- errors -------------------------------------------------------------------------------------


def test_api_errors_keep_everything_the_server_said(connect) -> None:
    detail = [{"loc": ["body", "duration"], "msg": "must be 3-15", "type": "value_error"}]
    server = Server().on("POST", SUBMIT, (422, {"error_code": 422001, "error_message": "duration: must be 3-15",
                                                "detail": detail}))
    with pytest.raises(ValidationError) as info:
        connect(server).submit(MODEL, {"prompt": "x", "duration": 99})
    err = info.value
    assert (err.status_code, err.error_code, err.message, err.detail) == (422, 422001, "duration: must be 3-15", detail)


@pytest.mark.parametrize("code,error_code,cls", [
    (401, 401001, AuthenticationError), (404, 404001, NotFoundError), (404, 400001, NotFoundError),
    (429, None, RateLimitedError), (500, 500001, ServerError),
])
def test_error_mapping(connect, code, error_code, cls) -> None:
    server = Server().on("POST", SUBMIT, (code, {"error_code": error_code, "error_message": "why"}))
    with pytest.raises(cls) as info:
        connect(server).submit(MODEL, {"prompt": "x"})
    assert info.value.status_code == code and info.value.error_code == error_code
    if cls is RateLimitedError:
        assert info.value.retry_after == 0.0


def test_a_non_json_error_page_still_becomes_a_typed_error(connect) -> None:
    server = Server().on("GET", STATUS, (502, b"<html>Bad Gateway</html>"))
    with pytest.raises(ServerError, match="Bad Gateway"):
        connect(server).handle(RID).status()


# --- retries ------------------------------------------------------------------------------------


def test_gets_retry_on_5xx_429_and_connection_errors(connect) -> None:
    server = Server().on("GET", STATUS, (503, {}), (429, {}), httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                         status("completed"))
    assert connect(server, retry=RetryPolicy(max_retries=4, base_delay=0)).handle(RID).status() == Completed(RID)
    assert server.calls(STATUS) == 5


def test_retries_stop_after_the_limit(connect) -> None:
    server = Server().on("GET", STATUS, (503, {"error_message": "overloaded"}))
    with pytest.raises(ServerError, match="overloaded"):
        connect(server).handle(RID).status()
    assert server.calls(STATUS) == 4  # 1 + max_retries
    broken = Server().on("GET", STATUS, httpx.ConnectError("refused"))
    with pytest.raises(TransportError, match="could not reach"):
        connect(broken).handle(RID).status()


def test_a_submit_is_never_retried_blindly(connect) -> None:
    server = Server().on("POST", SUBMIT, (503, {}), SUBMITTED)
    with pytest.raises(ServerError):
        connect(server).submit(MODEL, {"prompt": "x"})
    assert server.calls(SUBMIT) == 1  # it may have been queued: repeating it could make two videos
    lost = Server().on("POST", SUBMIT, httpx.ReadTimeout("no answer"), SUBMITTED)
    with pytest.raises(TransportError):
        connect(lost).submit(MODEL, {"prompt": "x"})
    assert lost.calls(SUBMIT) == 1


def test_a_submit_is_retried_when_it_never_left_or_carries_an_idempotency_key(connect) -> None:
    refused = Server().on("POST", SUBMIT, httpx.ConnectError("refused"), SUBMITTED)
    assert connect(refused).submit(MODEL, {"prompt": "x"}).request_id == RID
    keyed = Server().on("POST", SUBMIT, (503, {}), httpx.ReadTimeout("no answer"), SUBMITTED)
    assert connect(keyed).submit(MODEL, {"prompt": "x"}, idempotency_key="k-1").request_id == RID
    assert keyed.calls(SUBMIT) == 3 and {r.headers["idempotency-key"] for r in keyed.seen} == {"k-1"}


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 5.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays) and len(set(delays)) > 100
    assert policy.delay(3, hint=7.0) == 7.0 and policy.delay(0, hint=600) == 60.0


# --- configuration ------------------------------------------------------------------------------


def test_base_url_and_key_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("REELSERVE_BASE_URL", "http://env.test/")
    monkeypatch.setenv("REELSERVE_API_KEY", "rs_env")
    client = Client()
    assert (client.base_url, client.api_key) == ("http://env.test", "rs_env")
    assert Client("http://arg.test", "rs_arg").api_key == "rs_arg"
    monkeypatch.delenv("REELSERVE_API_KEY")
    with pytest.raises(ReelserveClientError, match="REELSERVE_API_KEY"):
        AsyncClient()


def test_the_async_client_is_generated_from_the_sync_one() -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "gen_async_client.py"
    assert subprocess.run([sys.executable, str(script), "--check"]).returncode == 0, "run scripts/gen_async_client.py"
