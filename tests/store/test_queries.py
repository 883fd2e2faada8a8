"""The named queries: every name defined once per dialect, the same names on both, each with its parameters."""

from __future__ import annotations

import re
from importlib import resources

from reelserve.store.backend import DRIVERS, load_queries

FOLDER = resources.files("reelserve.store") / "queries"
NAME = re.compile(r"^-- name: (\w+)", re.MULTILINE)


def names(file: str) -> list[str]:
    return NAME.findall((FOLDER / file).read_text())


def test_each_dialect_loads_every_query_once() -> None:
    # aiosql refuses a name defined twice, and a parameter declared but unused or used but undeclared.
    for dialect in DRIVERS:
        assert load_queries(dialect) is not None


def test_the_dialects_override_only_what_they_spell_differently() -> None:
    common, sqlite, postgres = names("common.sql"), names("sqlite.sql"), names("postgres.sql")
    assert len(set(common)) == len(common) and not set(common) & (set(sqlite) | set(postgres))
    # What both dialects need but spell differently; PostgreSQL alone has advisory locks and NOTIFY.
    assert set(sqlite) == {"create_migrations_table", "claim_oldest", "claim_webhook_events", "tombstone_jobs",
                           "delete_jobs"}
    assert set(postgres) == set(sqlite) | {"advisory_lock", "notify"}


def test_the_store_runs_only_queries_that_exist() -> None:
    folder = resources.files("reelserve.store")
    source = "\n".join(f.read_text() for f in folder.iterdir() if f.name.endswith(".py"))
    # `self._run(conn, "name", ...)` in the concerns, `self._tx.run("name", ...)` in an admission.
    used = set(re.findall(r"\b_?(?:run|row|rows|read_row|write|fenced)\((?:[\w.]+, )?\"(\w+)\"", source))
    defined = set(names("common.sql")) | set(names("postgres.sql"))
    assert used and used <= defined, sorted(used - defined)
    assert defined - used == set(), f"queries no code runs: {sorted(defined - used)}"
