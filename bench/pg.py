"""PostgreSQL for the benches: the server they use, and a throwaway schema per measurement.

The server is `REELSERVE_BENCH_DATABASE_URL` (default: the local one). Each bench run gets fresh
schemas, selected through the URL's search_path, and drops them afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

URL = os.environ.get("REELSERVE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def reachable() -> bool:
    """True if the server answers; otherwise the benches leave PostgreSQL out and say so."""
    try:
        import psycopg

        psycopg.connect(URL, connect_timeout=3).close()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "leave PostgreSQL out"
        print(f"# PostgreSQL at {URL} not reachable ({type(exc).__name__}); left out")
        return False


@contextlib.contextmanager
def temporary_schema() -> Iterator[str]:
    """A database URL whose search_path is a new, empty schema; the schema is dropped on exit."""
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    with psycopg.connect(URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
        try:
            yield f"{URL}{'&' if '?' in URL else '?'}options=-csearch_path%3D{name}"
        finally:
            admin.execute(f"DROP SCHEMA {name} CASCADE")
