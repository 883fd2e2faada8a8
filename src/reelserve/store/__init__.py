"""The durable queue: one abstract `JobStore`, one module per backend, one set of named queries."""

from __future__ import annotations

from pathlib import Path

from reelserve.store.base import JobStore, Reaped, SubmitLimits
from reelserve.store.job import TERMINAL, ApiKey, HistoryPage, Job, Status, WorkerInfo
from reelserve.store.sqlite import SqliteJobStore

__all__ = ["TERMINAL", "ApiKey", "HistoryPage", "Job", "JobStore", "Reaped", "SqliteJobStore", "Status", "SubmitLimits", "WorkerInfo",
           "open_store"]


def open_store(database_url: str | None, *, sqlite_path: Path, pool_size: int = 10) -> JobStore:
    """PostgreSQL when `database_url` is set, else SQLite at `sqlite_path`; migrated and ready."""
    if database_url:
        from reelserve.store.postgres import PostgresJobStore  # psycopg is only imported when asked for

        store: JobStore = PostgresJobStore(database_url, pool_size=pool_size)
    else:
        store = SqliteJobStore(sqlite_path)
    store.migrate()
    return store
