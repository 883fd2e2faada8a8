"""The Prometheus metrics each process records (prometheus-client), and the names docs/operations.md lists.

What a process sees happen is recorded here: HTTP requests, a job's wait and stage times, outcomes,
lease reaps, the worker's state, GPU memory. What the store knows (queue depth and jobs in progress
by model, live workers) is read from it at scrape time by the API (api/routes/metrics.py), so every
replica reports the same numbers whichever worker did the work.

Several processes on one host (API replicas, `reelserve worker`s) share their numbers through
prometheus-client's multiprocess mode: set PROMETHEUS_MULTIPROC_DIR to an empty folder before they
start, and any API process's /metrics reports them all. That variable is prometheus-client's, read
when it is imported, which is why it is not a reelserve setting.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# `*_created` series (a timestamp per label set) double the output and no alert uses them.
disable_created_metrics()

WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200)

HTTP_REQUESTS = Counter(
    "reelserve_http_requests", "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"])
HTTP_SECONDS = Histogram(
    "reelserve_http_request_duration_seconds", "Time to answer an HTTP request, by route template and method.",
    ["route", "method"])
QUEUE_WAIT = Histogram(
    "reelserve_queue_wait_seconds", "Seconds from submit to a worker starting the request, by model.",
    ["model"], buckets=WAIT_BUCKETS)
STAGE_SECONDS = Histogram(
    "reelserve_generation_seconds",
    "Seconds a completed request spent in each stage, by model; the stages are metadata.timings' names.",
    ["model", "stage"], buckets=STAGE_BUCKETS)
OUTCOMES = Counter(
    "reelserve_jobs_finished",
    "Requests that ended, by model, outcome (completed, failed, cancelled, interrupted) and error code.",
    ["model", "outcome", "error_code"])
LEASE_REAPS = Counter(
    "reelserve_lease_reaps", "Requests whose worker stopped renewing its lease, by what happened to them "
    "(requeued, failed).", ["result"])
WORKER_STATE = Gauge(
    "reelserve_worker_state", "Worker processes in each state (loading, idle, running, draining, stopped).",
    ["state"], multiprocess_mode="livesum")
GPU_MEMORY = Gauge(
    "reelserve_gpu_memory_bytes", "CUDA memory held by a worker's engine: allocated and reserved, by device.",
    ["device", "kind"], multiprocess_mode="livemax")


# RFC 9110's methods and PATCH. Any other is a client's own word: each would be a new series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
OTHER_METHOD = "other"


def method_label(method: str) -> str:
    """`method` when it is a known one (case-sensitive, as HTTP is), else "other": a bounded label."""
    return method if method in KNOWN_METHODS else OTHER_METHOD


def observe_http(method: str, route: str, status: int, seconds: float) -> None:
    method = method_label(method)
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_SECONDS.labels(route, method).observe(seconds)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


# prometheus-client chooses where values live when it is imported (just above): in this process's memory,
# or in the multiprocess folder when the variable was set by then.
RECORDS_TO_FOLDER = multiprocess_dir() is not None
_made_folder: str | None = None


def share_with_children() -> None:
    """Give child processes (`serve`'s worker) a folder to record into when the operator set none: they
    start fresh interpreters, so the variable reaches their prometheus-client before its import. This
    process keeps its own numbers in memory; /metrics merges the two (api/routes/metrics.py)."""
    global _made_folder
    if multiprocess_dir() is None:
        import tempfile

        _made_folder = tempfile.mkdtemp(prefix="reelserve-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_folder


def process_exited() -> None:
    """Drop this process's live gauges (worker state, GPU memory) from the shared folder, and the folder
    itself where `share_with_children` made it."""
    folder = multiprocess_dir()
    if folder:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid(), folder)
    if _made_folder is not None:
        import shutil

        shutil.rmtree(_made_folder, ignore_errors=True)
