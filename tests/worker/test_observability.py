"""What a worker tells an operator: a log line when a job starts, and the metrics docs/operations.md lists."""

from __future__ import annotations

import logging
import time

import pytest
from prometheus_client import REGISTRY

from reelserve.errors import EngineInputError
from reelserve.worker import Janitor
from tests.jobs import submit
from tests.worker.driving import work_through
from tests.worker.test_worker import BODY, STANDARD, ExplodingEngine, make_worker


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_job_logs_its_start_and_records_its_wait_stages_and_outcome(settings, parts, tiny_engine,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    store, storage, owner = parts
    job = submit(store, owner, STANDARD, BODY)
    waits = sample("reelserve_queue_wait_seconds_count", model=STANDARD)
    encodes = sample("reelserve_generation_seconds_count", model=STANDARD, stage="encode")
    completed = sample("reelserve_jobs_finished_total", model=STANDARD, outcome="completed", error_code="")
    worker = make_worker(settings, store, storage, tiny_engine)
    with caplog.at_level(logging.INFO, logger="reelserve.worker"):
        work_through(worker, store, [job.id])
    started = [r.getMessage() for r in caplog.records if "started" in r.getMessage()]
    assert started == [f"job {job.id} started: model {STANDARD}, attempt 1, worker {worker.id}"]
    assert sample("reelserve_queue_wait_seconds_count", model=STANDARD) == waits + 1
    assert sample("reelserve_generation_seconds_count", model=STANDARD, stage="encode") == encodes + 1
    # Every stage of metadata.timings has its series, under the same name less "_seconds".
    for stage in store.get(job.id).metadata["timings"]:
        assert sample("reelserve_generation_seconds_count", model=STANDARD, stage=stage.removesuffix("_seconds")) >= 1
    assert sample("reelserve_jobs_finished_total", model=STANDARD, outcome="completed", error_code="") == completed + 1


def test_a_failure_is_counted_by_its_code(settings, parts, tiny_engine) -> None:
    store, storage, owner = parts
    job = submit(store, owner, STANDARD, BODY)
    before = sample("reelserve_jobs_finished_total", model=STANDARD, outcome="failed", error_code="invalid_input")
    engine = ExplodingEngine(EngineInputError("odd"), tiny_engine.info)
    work_through(make_worker(settings, store, storage, engine), store, [job.id])
    assert sample("reelserve_jobs_finished_total", model=STANDARD, outcome="failed",
                  error_code="invalid_input") == before + 1


def test_the_worker_state_gauge_follows_the_state(settings, parts, tiny_engine) -> None:
    store, storage, _ = parts
    idle = sample("reelserve_worker_state", state="idle")
    worker = make_worker(settings, store, storage, tiny_engine)
    assert sample("reelserve_worker_state", state="idle") == idle + 1
    stopped = sample("reelserve_worker_state", state="stopped")
    assert worker.drain(1.0)
    assert sample("reelserve_worker_state", state="idle") == idle
    assert sample("reelserve_worker_state", state="stopped") == stopped + 1


def test_lease_reaps_are_counted(settings, parts) -> None:
    store, storage, owner = parts
    submit(store, owner, STANDARD, BODY)
    store.claim("gone", 0.01)
    before = sample("reelserve_lease_reaps_total", result="requeued")
    time.sleep(0.05)
    Janitor(store, storage, retention_seconds=3600, reap_every=1).reap()
    assert sample("reelserve_lease_reaps_total", result="requeued") == before + 1
