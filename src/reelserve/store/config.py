"""Where the queue lives, as one frozen value the composition root builds (cli/compose.py: store_config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class StoreConfig:
    """PostgreSQL at `database_url` when it is set (API replicas and workers on several machines share it),
    else SQLite at `sqlite_path` (one machine)."""

    sqlite_path: Path
    database_url: str | None = field(default=None, repr=False)  # holds a password
    pool_size: int = 10  # PostgreSQL connections per process (plus one per worker for LISTEN)
