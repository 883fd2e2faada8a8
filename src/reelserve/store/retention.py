"""Retention: finished jobs past the retention period are forgotten, leaving a tombstone that answers
"expired" for a while; idempotency records and tombstones past their own lifetimes go with them."""

from __future__ import annotations

from datetime import timedelta

from reelserve.store.admission import IDEMPOTENCY_TTL
from reelserve.store.backend import Backend
from reelserve.store.job import Job

TOMBSTONE_TTL = timedelta(days=30)  # how long an expired id answers "expired" rather than "not found"


class Retention(Backend):
    def finished_before(self, retention_seconds: float, limit: int = 500) -> list[Job]:
        """Up to `limit` finished jobs older than the retention period, oldest first."""
        cutoff = self.clock() - timedelta(seconds=retention_seconds)
        with self._connection() as conn:
            return [self._job(row) for row in self._rows(conn, "finished_before", cutoff=cutoff, limit=limit)]

    def expire(self, job_ids: list[str]) -> None:
        """Forget jobs whose media is already deleted, leaving a tombstone that answers "expired"."""
        now = self.clock()
        with self._transaction() as conn:
            self._run(conn, "tombstone_jobs", ids=job_ids, now=now)
            self._run(conn, "delete_jobs", ids=job_ids)
        with self._transaction() as conn:
            self._run(conn, "purge_idempotency", before=now - IDEMPOTENCY_TTL)
            self._run(conn, "purge_tombstones", before=now - TOMBSTONE_TTL)

    def was_expired(self, job_id: str, owner: str) -> bool:
        """True when `owner`'s job was purged by retention (recently enough to remember)."""
        return self._read_row("was_expired", id=job_id, owner=owner) is not None
