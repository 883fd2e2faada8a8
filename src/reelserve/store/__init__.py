"""The durable queue: one `JobStore` (base.py: a mixin per concern over backend.py), one module per
backend, one set of named queries."""

from __future__ import annotations

from pathlib import Path

from reelserve.store.admission import SubmitLimits
from reelserve.store.backend import Clock, utcnow
from reelserve.store.base import JobStore
from reelserve.store.config import StoreConfig
from reelserve.store.job import (EVENT_KINDS, OPTIONAL_EVENTS, TERMINAL, ApiKey, DeliveryState, HistoryPage, Job,
                                 Status, Webhook, WebhookAttempt, WebhookDelivery, WebhookEvent, WorkerInfo, delivers)
from reelserve.store.jobs import Reaped
from reelserve.store.sqlite import SqliteJobStore

__all__ = ["EVENT_KINDS", "OPTIONAL_EVENTS", "TERMINAL", "ApiKey", "Clock", "DeliveryState", "HistoryPage", "Job",
           "JobStore", "Reaped", "SqliteJobStore", "Status", "StoreConfig", "SubmitLimits", "Webhook", "WebhookAttempt", "WebhookDelivery",
           "WebhookEvent", "WorkerInfo", "delivers", "open_configured", "open_store", "utcnow"]


def open_store(database_url: str | None, *, sqlite_path: Path, pool_size: int = 10,
               clock: Clock = utcnow) -> JobStore:
    """PostgreSQL when `database_url` is set, else SQLite at `sqlite_path`; migrated and ready. `clock` is
    where the store reads the time (tests move it on instead of sleeping)."""
    if database_url:
        from reelserve.store.postgres import PostgresJobStore  # psycopg is only imported when asked for

        store: JobStore = PostgresJobStore(database_url, pool_size=pool_size, clock=clock)
    else:
        store = SqliteJobStore(sqlite_path, clock=clock)
    store.migrate()
    return store


def open_configured(config: StoreConfig, *, clock: Clock = utcnow) -> JobStore:
    """The store `config` names, migrated and ready."""
    return open_store(config.database_url, sqlite_path=config.sqlite_path, pool_size=config.pool_size, clock=clock)
