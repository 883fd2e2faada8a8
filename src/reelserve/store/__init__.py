"""The durable queue: one abstract `JobStore`, one module per backend, one set of named queries."""

from __future__ import annotations

from reelserve.settings import Settings
from reelserve.store.base import JobStore, Reaped, SubmitLimits
from reelserve.store.job import TERMINAL, ApiKey, Job, Status, WorkerInfo
from reelserve.store.sqlite import SqliteJobStore

__all__ = ["TERMINAL", "ApiKey", "Job", "JobStore", "Reaped", "SqliteJobStore", "Status", "SubmitLimits", "WorkerInfo",
           "open_store"]


def open_store(settings: Settings) -> JobStore:
    """The store the settings name (PostgreSQL when `database_url` is set, else SQLite), migrated and ready."""
    if settings.database_url:
        from reelserve.store.postgres import PostgresJobStore  # psycopg is only imported when asked for

        store: JobStore = PostgresJobStore(settings.database_url, pool_size=settings.database_pool_size)
    else:
        store = SqliteJobStore(settings.database_path)
    store.migrate()
    return store
