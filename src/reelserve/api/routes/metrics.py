"""GET /metrics: Prometheus' text format, for scraping (docs/operations.md lists every metric).

What this process recorded (reelserve/metrics.py; with PROMETHEUS_MULTIPROC_DIR set, what every
process on the host recorded), plus what the store knows at scrape time: queue depth and jobs in
progress by model, and live workers by engine state. No request ids, prompts or host names.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from reelserve.api.deps import ServicesDep
from reelserve.api.liveness import LIVE_WITHIN_SECONDS, live_workers
from reelserve.catalog import RECIPES
from reelserve.errors import AuthenticationError
from reelserve.metrics import RECORDS_TO_FOLDER, multiprocess_dir
from reelserve.store import JobStore, Status

router = APIRouter(tags=["operations"])


class StoreCollector(Collector):
    def __init__(self, store: JobStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        counts = self.store.active_counts()
        queued = GaugeMetricFamily("reelserve_queue_depth", "Requests waiting in the queue, by model.",
                                   labels=["model"])
        running = GaugeMetricFamily("reelserve_jobs_in_progress", "Requests a worker is generating, by model.",
                                    labels=["model"])
        models = dict.fromkeys([*RECIPES, *(model for model, _ in counts)])  # served models report 0, not nothing
        for model in models:
            queued.add_metric([model], counts.get((model, Status.IN_QUEUE), 0))
            running.add_metric([model], counts.get((model, Status.IN_PROGRESS), 0))
        workers = GaugeMetricFamily("reelserve_live_workers", f"Workers with a heartbeat in the last "
                                    f"{LIVE_WITHIN_SECONDS:g} s, by engine state (loading, ready).", labels=["state"])
        states: dict[str, int] = {"loading": 0, "ready": 0}
        for worker in live_workers(self.store):
            state = str(worker.engine.get("state", "unknown"))
            states[state] = states.get(state, 0) + 1
        for state, count in states.items():
            workers.add_metric([state], count)
        yield from (queued, running, workers)


class _Forward(Collector):
    """Another registry's metrics inside this one (the process's own, the multiprocess merge, or both)."""

    def __init__(self, source: Collector) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()


class _Sum(Collector):
    """Several sources' metrics as one: a family's samples from each, summed where their labels meet."""

    def __init__(self, *sources: Collector) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        totals: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        for source in self.sources:
            for family in source.collect():
                families.setdefault(family.name, Metric(family.name, family.documentation, family.type, family.unit))
                into = totals.setdefault(family.name, {})
                for sample in family.samples:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    into[key] = into.get(key, 0.0) + sample.value
        for name, family in families.items():
            for (sample_name, labels), value in totals[name].items():
                family.add_sample(sample_name, dict(labels), value)
            yield family


def _recorded() -> Collector:
    folder = multiprocess_dir()
    if folder is None:
        return REGISTRY
    from prometheus_client.multiprocess import MultiProcessCollector

    merged = CollectorRegistry()
    MultiProcessCollector(merged, path=folder)
    # A `serve` whose worker child records into a folder this process did not start with
    # (metrics.share_with_children): its own numbers are still in memory.
    return merged if RECORDS_TO_FOLDER else _Sum(REGISTRY, merged)


@router.get("/metrics", operation_id="get_metrics", response_class=Response,
            summary="Prometheus metrics: HTTP, queue, generation stages, outcomes, workers",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "The Prometheus text exposition format"}})
def metrics(request: Request, svc: ServicesDep) -> Response:
    token = svc.config.metrics_token
    if token is not None and not hmac.compare_digest(request.headers.get("authorization", "").encode(),
                                                     f"Bearer {token}".encode()):
        raise AuthenticationError("This server's /metrics needs its metrics token: "
                                  "send Authorization: Bearer <REELSERVE_METRICS_TOKEN>.")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Forward(_recorded()))
    registry.register(StoreCollector(svc.store))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
