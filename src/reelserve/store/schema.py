"""The schema: migrations/<dialect>/'s scripts, each applied once, whichever process gets there first."""

from __future__ import annotations

from importlib import resources

from reelserve.store.backend import Backend


def migration_scripts(dialect: str) -> list[tuple[int, str]]:
    """(version, SQL) of each script in migrations/<dialect>/, in order; `0002_name.sql` is version 2."""
    folder = resources.files("reelserve.store") / "migrations" / dialect
    scripts = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(int(p.name.split("_", 1)[0]), p.read_text()) for p in scripts]


class Schema(Backend):
    def migrate(self) -> None:
        """Create or upgrade the schema; safe to call from several processes at once."""
        with self._transaction() as conn:
            self._exclusive(conn, "migrations")  # the first process migrates; the rest wait and find it done
            self._run(conn, "create_migrations_table")
            done = {row["version"] for row in self._rows(conn, "applied_migrations")}
            for version, script in migration_scripts(self.dialect):
                if version not in done:
                    self._run_script(conn, script)
                    self._run(conn, "record_migration", version=version, now=self.clock())
