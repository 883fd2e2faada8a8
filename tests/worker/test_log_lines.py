"""What a worker tells its operator: that it is loading before the long silence of a load, and why a
request went back to the queue at shutdown."""

from __future__ import annotations

import logging
import signal
import time

import pytest

from reelserve.store import Status
from reelserve.worker import Worker, WorkerConfig
from tests.reliability.conftest import Fleet
from tests.worker.test_worker import SleepingEngine


def test_load_says_the_engine_is_loading_before_it_loads(settings, parts, caplog) -> None:
    store, storage, _ = parts
    said_before: list[str] = []

    def load_engine() -> SleepingEngine:
        said_before.extend(record.getMessage() for record in caplog.records)
        return SleepingEngine(seconds=0)

    config = WorkerConfig(lease_seconds=30, poll_seconds=0.01, scratch_dir=settings.data_dir / "tmp")
    worker = Worker(store, storage, load_engine, config)
    with caplog.at_level(logging.INFO, logger="reelserve.worker.runner"):
        worker.load()
    assert [m for m in said_before if "loading the engine" in m and worker.id in m], said_before
    assert "ready" in caplog.records[-1].getMessage()


@pytest.fixture(scope="module")
def ctrl_c_twice(tmp_path_factory):
    """A worker process (`run_until_signalled`, as `reelserve worker` runs) with a 30 s grace period, sent
    SIGINT mid-request and again once it says it waits: (its log, seconds from the second to the exit,
    the request afterwards)."""
    fleet = Fleet(tmp_path_factory.mktemp("ctrl-c"), lease=5.0, grace=30.0)
    try:
        [job_id] = fleet.submit(["sleep:60"])
        [proc] = fleet.start()
        log = fleet.data_dir / "worker-0.log"
        _wait(lambda: fleet.events("run"), proc, log)
        proc.send_signal(signal.SIGINT)
        _wait(lambda: "press Ctrl-C again" in log.read_text(), proc, log)
        second = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, log.read_text()
        yield log.read_text(), time.monotonic() - second, fleet.store.get(job_id)
    finally:
        fleet.stop_all()


def _wait(condition, proc, log, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def test_a_second_signal_says_the_request_was_handed_back_on_request(ctrl_c_twice) -> None:
    log, took, job = ctrl_c_twice
    assert took < 5 and (job.status, job.attempts, job.lease_owner) == (Status.IN_QUEUE, 0, None)
    assert ("on request (a second SIGINT or SIGTERM, within the grace period): "
            f"job {job.id} handed back to the queue; stopping now") in log, log


def test_a_second_signal_does_not_blame_the_grace_period(ctrl_c_twice) -> None:
    log, _, _ = ctrl_c_twice
    assert "not finished within the shutdown grace period" not in log, log
