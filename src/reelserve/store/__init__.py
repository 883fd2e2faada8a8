"""The durable queue: one abstract `JobStore`, one module per backend."""

from __future__ import annotations

from reelserve.settings import Settings
from reelserve.store.base import JobStore, Reaped, SubmitLimits
from reelserve.store.job import TERMINAL, ApiKey, Job, Status, WorkerInfo
from reelserve.store.sqlite import SqliteJobStore

__all__ = ["TERMINAL", "ApiKey", "Job", "JobStore", "Reaped", "SqliteJobStore", "Status", "SubmitLimits", "WorkerInfo",
           "open_store"]


def open_store(settings: Settings) -> JobStore:
    """The store the settings name, migrated and ready."""
    store = SqliteJobStore(settings.database_path)
    store.migrate()
    return store
