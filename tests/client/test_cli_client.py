"""`reelserve run/submit/status/result/cancel` through typer's runner, against httpx.MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from reelserve.cli import app
from reelserve.cli.client import ClientOptions
from reelserve.client import RetryPolicy
from tests.client.test_client import (
    BASE, CANCEL, MODEL, RESULT, RID, STATUS, SUBMIT, SUBMITTED, Server, result, status,
)

runner = CliRunner()


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def invoke(server):
    """Runs `reelserve ...` with the commands' Client talking to `server` (the transport is injected)."""
    options = ClientOptions(transport=httpx.MockTransport(server), retry=RetryPolicy(base_delay=0))
    env = {"REELSERVE_BASE_URL": BASE, "REELSERVE_API_KEY": "rs_key"}
    return lambda *args: runner.invoke(app, list(args), obj=options, env=env)


def sent_body(server: Server) -> dict:
    return json.loads(next(r for r in server.seen if r.method == "POST").content)


def test_run_shows_progress_and_saves_the_video(server, invoke, tmp_path) -> None:
    server.on("POST", SUBMIT, SUBMITTED).on(
        "GET", STATUS, status("in_queue", queue_position=1), status("in_progress", progress=50), status("completed"),
    ).on("GET", RESULT, result()).on("GET", f"/media/{RID}/video.mp4", (200, b"MP4"))
    out = tmp_path / "out.mp4"
    ran = invoke("run", MODEL, "--prompt", "a fox", "--duration", "5", "--aspect-ratio", "9:16", "--cfg-scale", "0.7",
                 "--negative-prompt", "blur", "--no-sound", "--seed", "7", "-o", str(out), "--poll-interval", "0")
    assert ran.exit_code == 0, ran.output
    assert out.read_bytes() == b"MP4" and f"{RID}: saved {out}" in ran.stdout
    assert sent_body(server) == {"prompt": "a fox", "duration": 5, "aspect_ratio": "9:16", "cfg_scale": 0.7,
                                 "negative_prompt": "blur", "sound": False, "seed": 7}
    # Not a terminal here, so the display is plain lines: queue position, then progress.
    assert "in queue, position 1" in ran.stderr and "in progress, 50%" in ran.stderr


def test_shots_become_multi_prompt_with_their_total_duration(server, invoke) -> None:
    server.on("POST", SUBMIT, SUBMITTED)
    ran = invoke("submit", MODEL, "--prompt", "a harbor", "--shot", "boats: at dawn:3", "--shot", "gulls:4")
    assert ran.exit_code == 0 and ran.stdout.strip() == RID
    assert sent_body(server) == {"prompt": "a harbor", "duration": 7, "multi_prompt": [
        {"prompt": "boats: at dawn", "duration": 3}, {"prompt": "gulls", "duration": 4}]}


def test_submit_webhook_goes_in_the_query(server, invoke) -> None:
    server.on("POST", SUBMIT, SUBMITTED)
    ran = invoke("submit", MODEL, "--prompt", "a harbor", "--webhook", "https://hooks.example.com/in",
                 "--webhook-event", "started")
    assert ran.exit_code == 0, ran.output
    sent = next(r for r in server.seen if r.method == "POST")
    assert dict(sent.url.params) == {"webhook": "https://hooks.example.com/in", "webhook_events": "started"}
    assert sent_body(server) == {"prompt": "a harbor"}


def test_input_file_is_sent_as_is(server, invoke, tmp_path) -> None:
    server.on("POST", SUBMIT, SUBMITTED)
    body = {"prompt": "x", "future_field": [1, 2]}
    (tmp_path / "in.json").write_text(json.dumps(body))
    ran = invoke("submit", MODEL, "--input", str(tmp_path / "in.json"), "--json")
    assert ran.exit_code == 0 and json.loads(ran.stdout) == {"request_id": RID}
    assert sent_body(server) == body


@pytest.mark.parametrize("args,message", [
    (["--prompt", "x", "--shot", "no seconds"], "PROMPT:SECONDS"),
    ([], "--prompt is required"),
    (["--input", "missing.json"], "missing.json"),
])
def test_usage_errors_exit_2(server, invoke, args, message) -> None:
    ran = invoke("submit", MODEL, *args)
    assert ran.exit_code == 2 and message in ran.stderr and not server.seen


@pytest.mark.parametrize("answer,code,message", [
    ((401, {"error_code": 401001, "error_message": "invalid API key"}), 3, "REELSERVE_API_KEY"),
    ((422, {"error_code": 422001, "error_message": "duration must be 3-15",
            "detail": [{"loc": ["body", "duration"], "msg": "must be 3-15"}]}), 4, "duration"),
    ((404, {"error_code": 400001, "error_message": "unknown model"}), 4, "unknown model"),
    ((500, {"error_code": 500001, "error_message": "internal"}), 1, "internal"),
])
def test_errors_exit_with_their_documented_code(server, invoke, answer, code, message) -> None:
    server.on("POST", SUBMIT, answer)
    ran = invoke("run", MODEL, "--prompt", "x")
    assert ran.exit_code == code and message in ran.stderr


def test_a_failed_request_exits_5_with_the_servers_reason(server, invoke) -> None:
    server.on("POST", SUBMIT, SUBMITTED).on("GET", STATUS, status("failed", error={"code": "out_of_memory",
                                                                                  "message": "too big"}))
    ran = invoke("run", MODEL, "--prompt", "x", "--poll-interval", "0")
    assert ran.exit_code == 5 and "out_of_memory" in ran.stderr and "too big" in ran.stderr


def test_a_timeout_exits_6_and_prints_the_id_to_resume_with(server, invoke) -> None:
    server.on("POST", SUBMIT, SUBMITTED).on("GET", STATUS, status("in_progress", progress=5))
    ran = invoke("run", MODEL, "--prompt", "x", "--timeout", "0.05", "--poll-interval", "0.01")
    assert ran.exit_code == 6 and RID in ran.stderr and server.calls(CANCEL) == 0


def test_ctrl_c_cancels_a_queued_request(server, invoke) -> None:
    server.on("POST", SUBMIT, SUBMITTED).on("GET", STATUS, KeyboardInterrupt(), status("in_queue", queue_position=3))
    server.on("POST", CANCEL, {"request_id": RID, "status": "cancelled", "outcome": "cancelled"})
    ran = invoke("run", MODEL, "--prompt", "x")
    assert ran.exit_code == 130 and "now cancelled" in ran.stderr and server.calls(CANCEL) == 1


def test_ctrl_c_detaches_from_a_running_request(server, invoke) -> None:
    server.on("POST", SUBMIT, SUBMITTED).on("GET", STATUS, KeyboardInterrupt(), status("in_progress", progress=30))
    ran = invoke("run", MODEL, "--prompt", "x")
    assert ran.exit_code == 130 and f"reelserve status {RID}" in ran.stderr and server.calls(CANCEL) == 0


def test_status_result_and_cancel(server, invoke, tmp_path) -> None:
    server.on("GET", STATUS, status("in_queue", queue_position=2))
    assert invoke("status", RID).stdout.strip() == f"{RID}: in queue, position 2"
    assert json.loads(invoke("status", RID, "--json").stdout) == {"request_id": RID, "status": "in_queue",
                                                                  "queue_position": 2}
    server.on("GET", RESULT, result()).on("GET", f"/media/{RID}/video.mp4", (200, b"V"))
    fetched = invoke("result", RID, "--download", str(tmp_path / "v.mp4"), "--json")
    assert fetched.exit_code == 0 and json.loads(fetched.stdout)["output"]["video"].endswith("sig=x")
    assert (tmp_path / "v.mp4").read_bytes() == b"V"
    server.on("POST", CANCEL, {"request_id": RID, "status": "in_progress", "outcome": "not_cancellable"})
    refused = invoke("cancel", RID)
    assert refused.exit_code == 5 and "not cancellable" in refused.stdout
    server.on("POST", CANCEL, {"request_id": RID, "status": "cancelled", "outcome": "cancelled"})
    assert invoke("cancel", RID).stdout.strip() == f"{RID}: cancelled"


def test_unknown_request_id_exits_4(server, invoke) -> None:
    server.on("GET", "/v1/requests/nope/status", (404, {"error_code": 404001, "error_message": "request not found"}))
    ran = invoke("status", "nope")
    assert ran.exit_code == 4 and "request not found" in ran.stderr


def test_run_without_a_terminal_prints_a_line_each_ten_points_of_progress(server, invoke) -> None:
    """A log or a pipe gets plain lines, not one per status change nor none between 0% and the end."""
    steps = [0, 4, 9, 10, 15, 19, 20, 33, 41, 50, 99]
    server.on("POST", SUBMIT, SUBMITTED).on(
        "GET", STATUS, *(status("in_progress", progress=p) for p in steps), status("completed"),
    ).on("GET", RESULT, result())
    ran = invoke("run", MODEL, "--prompt", "x", "--poll-interval", "0")
    assert ran.exit_code == 0, ran.output
    lines = ran.stderr.splitlines()
    assert [line for line in lines if "in progress" in line] == [
        f"{RID}: in progress, {p}%" for p in (0, 10, 20, 33, 50, 99)]
    assert lines[-1] == f"{RID}: completed" and "\r" not in ran.stderr and "\x1b" not in ran.stderr


def test_plain_progress_also_gets_a_line_when_seconds_pass_without_one(capsys) -> None:
    from reelserve.cli.client import PLAIN_LINE_SECONDS, Display
    from reelserve.client import InProgress

    now = [0.0]
    with Display(RID, enabled=True, clock=lambda: now[0]) as display:
        for seconds, progress in [(0, 1), (1, 2), (PLAIN_LINE_SECONDS + 1, 3), (PLAIN_LINE_SECONDS + 2, 4)]:
            now[0] = seconds
            display.update(InProgress(RID, progress))
    assert capsys.readouterr().err.splitlines() == [f"{RID}: in progress, 1%", f"{RID}: in progress, 3%"]


def test_image_options_send_a_local_file_inline_and_a_url_as_is(server, invoke, tmp_path) -> None:
    import base64

    from tests.images.pictures import encoded

    i2v = "kling/kling-3.0/pro/image-to-video"
    server.on("POST", f"/v1/models/{i2v}", SUBMITTED)
    frame = tmp_path / "first frame.jpeg"  # the bytes are a PNG's: they decide the type, not the name
    frame.write_bytes(encoded(640, 360))
    ran = invoke("submit", i2v, "--prompt", "a kite", "--image", str(frame),
                 "--end-image", "https://images.example.com/last.webp")
    assert ran.exit_code == 0 and ran.stdout.strip() == RID, ran.output
    sent = sent_body(server)
    assert sent == {"prompt": "a kite", "start_image_url": sent["start_image_url"],
                    "end_image_url": "https://images.example.com/last.webp"}, sent
    head, _, data = sent["start_image_url"].partition(",")
    assert head == "data:image/png;base64" and base64.b64decode(data) == frame.read_bytes(), head


def test_a_model_this_cli_does_not_know_takes_the_image_options_as_given(server, invoke, tmp_path) -> None:
    """Another RunComfy-compatible server's ids are its own: it judges the body (here: any model path)."""
    server.on("POST", "/v1/models/acme/animate", SUBMITTED)
    ran = invoke("submit", "acme/animate", "--prompt", "a kite", "--image", "https://images.example.com/a.png",
                 "--aspect-ratio", "1:1")
    assert ran.exit_code == 0, ran.output
    assert sent_body(server) == {"prompt": "a kite", "aspect_ratio": "1:1",
                                 "start_image_url": "https://images.example.com/a.png"}
