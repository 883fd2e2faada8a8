"""The durable queue: one abstract `JobStore`, one module per backend, one set of named queries."""

from __future__ import annotations

from pathlib import Path

from reelserve.store.base import JobStore, Reaped, SubmitLimits, utcnow
from reelserve.store.job import (EVENT_KINDS, OPTIONAL_EVENTS, TERMINAL, ApiKey, DeliveryState, HistoryPage, Job,
                                 Status, Webhook, delivers, WebhookAttempt, WebhookDelivery, WebhookEvent, WorkerInfo)
from reelserve.store.sqlite import SqliteJobStore

__all__ = ["EVENT_KINDS", "OPTIONAL_EVENTS", "TERMINAL", "ApiKey", "DeliveryState", "HistoryPage", "Job", "JobStore",
           "Reaped", "SqliteJobStore", "Status", "SubmitLimits", "Webhook", "WebhookAttempt", "WebhookDelivery",
           "WebhookEvent", "WorkerInfo", "delivers", "open_store", "utcnow"]


def open_store(database_url: str | None, *, sqlite_path: Path, pool_size: int = 10) -> JobStore:
    """PostgreSQL when `database_url` is set, else SQLite at `sqlite_path`; migrated and ready."""
    if database_url:
        from reelserve.store.postgres import PostgresJobStore  # psycopg is only imported when asked for

        store: JobStore = PostgresJobStore(database_url, pool_size=pool_size)
    else:
        store = SqliteJobStore(sqlite_path)
    store.migrate()
    return store
