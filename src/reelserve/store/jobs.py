"""Jobs: the reads a status poll, a history page and /metrics make, and every transition of a job's
lease. Each transition is one conditional write (queries/common.sql), told to whoever follows the job
and announced into the outbox in the same transaction; an ending is counted in
`reelserve_jobs_finished` once, by the call whose transaction committed it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from reelserve import metrics
from reelserve.errors import FailureCode, InvalidTransitionError, LeaseLostError
from reelserve.store import wake
from reelserve.store.job import HistoryPage, Job, Status
from reelserve.store.outbox import Outbox

HISTORY_START = 2**62  # above every seq: the first page of a history
MAX_ATTEMPTS = 3  # claims a request gets before a worker dying under it counts as the request's fault
INTERRUPTED_MESSAGE = (
    "This request was interrupted {attempts} times: the worker generating it stopped each time, so it was not "
    "retried again. Submit it again; if it keeps happening, this input may be what stops the worker."
)
INTERRUPTED = FailureCode.INTERRUPTED.value  # an outcome of its own, and its error code


@dataclass(frozen=True)
class Reaped:
    """What one reaper pass did with jobs whose lease ran out."""

    requeued: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)


def _count(model_id: str, outcome: str, error_code: str = "") -> None:
    """One ending in `reelserve_jobs_finished`: called only after the transaction that made it committed."""
    metrics.OUTCOMES.labels(model_id, outcome, error_code).inc()


class Jobs(Outbox):
    # --- reads -----------------------------------------------------------------------------------

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        """The job, or None when it does not exist or belongs to another owner."""
        if owner is None:
            row = self._read_row("get_job", id=job_id)
        else:
            row = self._read_row("get_owned_job", id=job_id, owner=owner)
        return None if row is None else self._job(row)

    def get_with_position(self, job_id: str, owner: str) -> tuple[Job, int | None] | None:
        """What a status poll needs, in one query: `owner`'s job and, while it is queued, how many queued
        jobs are ahead of it (None otherwise); None when there is no such job of theirs."""
        row = self._read_row("get_owned_job_with_position", id=job_id, owner=owner)
        return None if row is None else (self._job(row), row["ahead"])

    def history(self, owner: str, limit: int, before: int | None = None) -> HistoryPage:
        """`owner`'s requests, newest first, `limit` at a time; `before` is a page's `next_before`."""
        with self._connection() as conn:
            # `before` 0 is a cursor too (nothing is older): only None is the first page.
            start = HISTORY_START if before is None else before
            rows = self._rows(conn, "history_page", owner=owner, before=start, limit=limit + 1)
        jobs = [self._job(row) for row in rows[:limit]]
        return HistoryPage(jobs, jobs[-1].seq if len(rows) > limit else None)

    def active_counts(self) -> dict[tuple[str, Status], int]:
        """Jobs queued and in progress, by (model id, status): what /metrics reports as queue depth."""
        with self._connection() as conn:
            return {(row["model_id"], Status(row["status"])): row["jobs"] for row in self._rows(conn, "active_by_model")}

    # --- transitions -----------------------------------------------------------------------------

    def cancel(self, job_id: str, owner: str) -> Job | None:
        """Cancel the job if it is still queued (one conditional write); returns it as it now is."""
        now = self.clock()

        def write() -> str | None:  # a conditional write: safe to run once more on a cut connection
            with self._transaction() as conn:
                row = self._row(conn, "cancel_if_queued", id=job_id, owner=owner, now=now)
                if row is not None:
                    self._changed(conn, wake.QUEUE_MOVED)
                    self._announce(conn, job_id, "cancelled", now)
            return None if row is None else row["model_id"]

        model_id = self._retried(write)
        if model_id is not None:
            _count(model_id, Status.CANCELLED.value)
        return self.get(job_id, owner)

    def claim(self, worker_id: str, lease_seconds: float) -> Job | None:
        """Atomically take the oldest queued job and lease it to `worker_id`."""
        now = self.clock()
        with self._transaction() as conn:
            row = self._row(conn, "claim_oldest", worker=worker_id, now=now,
                            expires=now + timedelta(seconds=lease_seconds))
            if row is not None:
                self._changed(conn, wake.QUEUE_MOVED)
                if row["webhook_url"] is not None:
                    self._announce(conn, row["id"], "started", now)
        return None if row is None else self._job(row)

    def set_progress(self, job_id: str, worker_id: str, progress: float) -> None:
        progress = min(100.0, max(0.0, float(progress)))
        self._fenced("set_progress", job_id, {"worker": worker_id, "progress": progress})

    def renew_lease(self, job_id: str, worker_id: str, lease_seconds: float) -> bool:
        """Extend the lease; False when this worker no longer holds it (reaped, then maybe claimed again)."""
        expires = self.clock() + timedelta(seconds=lease_seconds)
        return self._write("renew_lease", id=job_id, worker=worker_id, expires=expires) == 1

    def release(self, job_id: str, worker_id: str) -> bool:
        """Give a running job back to the queue at once (a worker shutting down); the attempt is not counted."""
        with self._transaction() as conn:
            released = self._run(conn, "release_job", id=job_id, worker=worker_id) == 1
            if released:
                self._claimable(conn)
                self._changed(conn, wake.QUEUE_MOVED)
        return released

    def reap_expired_leases(self, max_attempts: int = MAX_ATTEMPTS) -> Reaped:
        """Requeue running jobs whose lease ran out; fail those already claimed `max_attempts` times."""
        now, message = self.clock(), INTERRUPTED_MESSAGE.format(attempts=max_attempts)
        with self._transaction() as conn:
            interrupted = self._rows(conn, "reap_interrupted", now=now, code=INTERRUPTED, message=message,
                                     max_attempts=max_attempts)
            requeued = self._rows(conn, "reap_requeue", now=now)
            for row in interrupted:
                self._changed(conn, row["id"])
                self._announce(conn, row["id"], "failed", now)
            if requeued:
                self._claimable(conn)
                self._changed(conn, wake.QUEUE_MOVED)
        for row in interrupted:
            _count(row["model_id"], INTERRUPTED, INTERRUPTED)
        return Reaped(requeued=[r["id"] for r in requeued], interrupted=[r["id"] for r in interrupted])

    def complete(self, job_id: str, worker_id: str, output_key: str, metadata: dict[str, Any],
                 poster_key: str | None = None) -> None:
        """Mark a leased job completed; fenced on the lease so a stale worker cannot publish."""
        model_id = self._fenced("complete_job", job_id, {
            "worker": worker_id, "now": self.clock(), "output_key": output_key, "poster_key": poster_key,
            "metadata": metadata}, announce="completed")
        _count(model_id, Status.COMPLETED.value)

    def fail(self, job_id: str, worker_id: str, code: str, message: str, metadata: dict[str, Any]) -> None:
        if not code or not message:
            raise InvalidTransitionError("a failed job needs an error code and a message")
        model_id = self._fenced("fail_job", job_id, {"worker": worker_id, "now": self.clock(), "code": code,
                                                     "message": message, "metadata": metadata}, announce="failed")
        _count(model_id, Status.FAILED.value, str(code))

    def _fenced(self, query: str, job_id: str, params: dict[str, Any], announce: str | None = None) -> str:
        """A write only the lease holder may make, telling whoever follows the job and writing the
        `announce` event (at `params["now"]`), all in one transaction; the job's model once committed.
        LeaseLostError when this worker no longer holds the lease."""

        def write() -> str:
            with self._transaction() as conn:
                row = self._row(conn, query, id=job_id, **params)
                if row is None:
                    raise LeaseLostError()
                self._changed(conn, job_id)
                if announce is not None:
                    self._announce(conn, job_id, announce, params["now"])
            return row["model_id"]

        return self._retried(write)
