"""What an operator relies on: the access log (no signatures, a request id), the security headers,
and GET /metrics in Prometheus' format with the numbers docs/operations.md lists."""

from __future__ import annotations

import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import PRO, STANDARD, Api, make_api
from tests.api.test_media_links import _path, _stored_video


def test_the_access_log_has_the_path_but_never_the_signature(api: Api, tmp_path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    url = _stored_video(api, tmp_path)
    with caplog.at_level(logging.INFO, logger="reelserve.access"):
        response = api.client.get(_path(url))
    assert response.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "reelserve.access"]
    assert len(lines) == 1 and "/media/" in lines[0] and " 200 " in lines[0]
    assert "signature" not in lines[0] and "expires" not in lines[0] and "?" not in lines[0]
    assert f"request_id={response.headers['x-request-id']}" in lines[0]


def test_a_request_id_is_made_or_kept_when_plain(api: Api) -> None:
    made = api.client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and made != api.client.get("/healthz").headers["x-request-id"]
    assert api.client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.12"}).headers["x-request-id"] == "lb-7f3a.12"
    forged = api.client.get("/healthz", headers={"X-Request-Id": "x\" 200 forged"}).headers["x-request-id"]
    assert forged != "x\" 200 forged" and len(forged) == 32


@pytest.mark.parametrize("path", ["/healthz", "/v1/models", "/nope", "/openapi.json"])
def test_every_answer_carries_nosniff_and_a_content_security_policy(api: Api, path: str) -> None:
    headers = api.client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "server" not in headers


def test_errors_carry_the_request_id_too(api: Api) -> None:
    response = api.submit(PRO, {"prompt": ""})
    assert response.status_code == 422 and response.headers["x-request-id"]


def scrape(api: Api, **kw) -> dict[str, list]:
    response = api.client.get("/metrics", **kw)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def value(samples: list, **labels: str) -> float:
    return sum(s.value for s in samples if all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_report_queue_depth_by_model_from_the_store(api: Api) -> None:
    for model in (PRO, PRO, STANDARD):
        api.submit(model)
    api.store.claim("w", 30)
    families = scrape(api)
    assert value(families["reelserve_queue_depth"], model=PRO) == 1
    assert value(families["reelserve_queue_depth"], model=STANDARD) == 1
    assert value(families["reelserve_jobs_in_progress"], model=PRO) == 1
    assert value(families["reelserve_live_workers"], state="ready") == 0


def test_metrics_count_requests_by_route_template_and_cancellations(api: Api) -> None:
    before = scrape(api)
    rid = api.submit(PRO).json()["request_id"]
    api.client.get(f"/v1/requests/{rid}/status", headers=api.headers)
    api.client.post(f"/v1/requests/{rid}/cancel", headers=api.headers)
    api.client.post(f"/v1/requests/{rid}/cancel", headers=api.headers)  # already cancelled: not counted twice
    after = scrape(api)
    route = "/v1/requests/{request_id}/status"

    def grew(name: str, **labels: str) -> float:
        return value(after[name], **labels) - value(before.get(name, []), **labels)

    assert grew("reelserve_http_requests", route=route, method="GET", status="200") == 1
    assert grew("reelserve_jobs_finished", model=PRO, outcome="cancelled") == 1
    assert all(rid not in s.labels.values() for samples in after.values() for s in samples)  # no ids as labels
    for metric in ("reelserve_queue_wait_seconds", "reelserve_generation_seconds", "reelserve_lease_reaps",
                   "reelserve_worker_state", "process_cpu_seconds"):
        assert metric in after, f"{metric} missing"


def test_metrics_can_require_a_token(settings) -> None:
    api = make_api(settings.model_copy(update={"metrics_token": "scrape-me"}))
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert "reelserve_queue_depth" in scrape(api, headers={"Authorization": "Bearer scrape-me"})


RECORD = """
from reelserve import metrics
metrics.OUTCOMES.labels("m", "completed", "").inc({count})
metrics.WORKER_STATE.labels("idle").inc()
"""

SCRAPE = """
import sys
from pathlib import Path
from fastapi.testclient import TestClient
from reelserve import metrics
from reelserve.api import create_app
from reelserve.cli.compose import api_config, storage_for, store_for
from reelserve.settings import Settings

metrics.OUTCOMES.labels("m", "completed", "").inc(2)
settings = Settings(data_dir=Path(sys.argv[1]), signing_secret="s")
app = create_app(api_config(settings), store_for(settings), storage_for(settings))
print(TestClient(app).get("/metrics").text)
"""


@pytest.mark.whole  # several processes: in `make test`, not the fast lane
def test_several_processes_share_their_numbers_through_the_multiprocess_dir(tmp_path) -> None:
    import os
    import subprocess
    import sys

    shared = tmp_path / "prom"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    for count in (3, 4):  # two worker processes, each gone once it has recorded
        subprocess.run([sys.executable, "-c", RECORD.format(count=count)], env=env, check=True)
    text = subprocess.run([sys.executable, "-c", SCRAPE, str(tmp_path / "data")], env=env, check=True,
                          capture_output=True, text=True).stdout
    families = {f.name: f.samples for f in text_string_to_metric_families(text)}
    assert value(families["reelserve_jobs_finished"], model="m", outcome="completed") == 9  # 3 + 4 + the API's 2
    assert "reelserve_queue_depth" in families


def test_docs_operations_lists_every_metric_served_and_its_rules_parse(api: Api) -> None:
    import re
    from pathlib import Path

    import yaml

    page = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"^\| `(reelserve_\w+)`", page, re.MULTILINE))
    served = {name for name in scrape(api) if name.startswith("reelserve_")}
    # Counters are served as `name` by the parser and documented with their `_total` suffix.
    assert {name.removesuffix("_total") for name in documented} | {"reelserve_gpu_memory_bytes"} >= served
    assert {name.removesuffix("_total") for name in documented} - served <= {"reelserve_gpu_memory_bytes"}
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", page, re.DOTALL)]
    assert blocks[0]["scrape_configs"][0]["metrics_path"] == "/metrics"
    rules = blocks[1]["groups"][0]["rules"]
    assert {"ReelserveQueueGrowing", "ReelserveFailureRate"} <= {r["alert"] for r in rules}
    for rule in rules:
        assert re.findall(r"reelserve_\w+", rule["expr"])
        assert set(re.findall(r"reelserve_\w+", rule["expr"])) <= documented


def test_a_500_has_the_request_id_and_headers_and_its_trace_is_logged_once(api: Api, caplog) -> None:
    class Broken(RuntimeError):
        pass

    def broken(*args, **kwargs):
        raise Broken("an internal detail the client must not see")

    api.store.get_with_position = broken  # a real store with the status poll's query broken
    rid = api.submit(PRO).json()["request_id"]
    with caplog.at_level(logging.INFO):
        response = api.client.get(f"/v1/requests/{rid}/status", headers=api.headers)
    assert response.status_code == 500 and response.json()["error_code"] == 500001
    assert "internal detail" not in response.text and response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["content-security-policy"]
    traces = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], Broken)]
    assert len(traces) == 1
    access = [r.getMessage() for r in caplog.records if r.name == "reelserve.access" and "/status" in r.getMessage()]
    assert access and " 500 " in access[0] and response.headers["x-request-id"] in access[0]


def http_series(api: Api, **kw) -> set[tuple[str, tuple]]:
    """Every (metric, label set) the HTTP metrics have recorded so far in this process."""
    families = scrape(api, **kw)
    return {(name, tuple(sorted(s.labels.items()))) for name in ("reelserve_http_requests",
                                                                 "reelserve_http_request_duration_seconds")
            for s in families.get(name, []) if s.name.endswith(("_requests_total", "_count"))}


@pytest.mark.parametrize("token", [None, "scrape-me"])
def test_made_up_methods_add_at_most_one_series_per_metric(settings, token: str | None) -> None:
    api = make_api(settings.model_copy(update={"metrics_token": token}))
    auth = {"headers": {"Authorization": f"Bearer {token}"}} if token else {}
    before = http_series(api, **auth)
    for n in range(60):
        api.client.request(f"FAKE{n}", "/healthz")
    api.client.request("X" * 8000, "/healthz")
    api.client.request("get", "/healthz")  # methods are case-sensitive: "get" is not GET
    added = http_series(api, **auth) - before
    assert len({name for name, _ in added}) == len(added), added  # one new label set per metric at most
    assert all(dict(labels)["method"] == "other" for _, labels in added), added
    assert all(len(value) < 64 for _, labels in http_series(api, **auth) for _, value in labels)

def test_known_methods_keep_their_own_label(api: Api) -> None:
    api.client.delete("/healthz")
    api.client.options("/healthz")
    labels = {dict(labels)["method"] for _, labels in http_series(api)}
    assert {"GET", "DELETE", "OPTIONS"} <= labels


@pytest.mark.parametrize("encoded,shown", [
    ("%0a", "\\x0a"), ("%0d", "\\x0d"), ("%1b", "\\x1b"), ("%0d%0a", "\\x0d\\x0a"), ("%00", "\\x00"),
    ("%7f", "\\x7f"), ("%c2%85", "\\x85"), ("%e2%80%a8", "\\u2028"), ("%e2%80%ae", "\\u202e"),
])
def test_control_characters_in_a_path_are_escaped_in_its_one_log_line(api: Api, caplog: pytest.LogCaptureFixture,
                                                                       encoded: str, shown: str) -> None:
    forged = "1.2.3.4 GET /v1/admin 200 0.1ms request_id=forged"
    with caplog.at_level(logging.INFO, logger="reelserve.access"):
        response = api.client.get(f"/nope{encoded}{forged.replace(' ', '%20')}")
    lines = [r.getMessage() for r in caplog.records if r.name == "reelserve.access"]
    assert len(lines) == 1 and len(lines[0].splitlines()) == 1, lines
    assert f"/nope{shown}1.2.3.4" in lines[0] and f"request_id={response.headers['x-request-id']}" in lines[0]
    assert lines[0].isprintable()


def test_a_backslash_in_a_path_is_escaped_so_an_escape_cannot_be_faked(api: Api,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="reelserve.access"):
        api.client.get("/nope%5cx0a")
    line = next(r.getMessage() for r in caplog.records if r.name == "reelserve.access")
    assert "/nope\\\\x0a " in line


@pytest.mark.parametrize("path", ["/", "/playground/assets/app.js", "/healthz", "/v1/models", "/nope", "/docs"])
def test_every_answer_sends_no_referrer(api: Api, path: str) -> None:
    assert api.client.get(path).headers["referrer-policy"] == "no-referrer"
