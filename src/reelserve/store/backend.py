"""What a backend implements, and what every concern of the store runs on (procrastinate's connector).

A backend (`sqlite.py`, `postgres.py`) supplies connections, transactions, locks, its push between
processes, and how its columns hold times, JSON and lists. Here is what every concern shares: named
queries run with their parameters converted, rows turned into values, news (store/wake.py) held until
the transaction commits, and the one clock. The concerns (keys.py, admission.py, jobs.py, outbox.py,
retention.py, workers.py) are mixins over `Backend`; base.py joins them into the `JobStore` callers hold.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import Any, ClassVar

import aiosql

from reelserve.store import wake
from reelserve.store.job import ApiKey, DeliveryState, Job, Status, Webhook, WebhookAttempt, WebhookEvent, WorkerInfo
from reelserve.webhooks import EventType

DRIVERS = {"sqlite": "sqlite3", "postgres": "psycopg"}  # dialect -> aiosql driver

Row = Mapping[str, Any]
Connection = Any  # a sqlite3 or psycopg connection, as the backend hands it out
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@functools.cache
def load_queries(dialect: str) -> aiosql.queries.Queries:
    """queries/common.sql plus the dialect's own file: each name defined once (a repeat fails to load)."""
    folder = resources.files("reelserve.store") / "queries"
    text = "\n".join((folder / name).read_text() for name in ("common.sql", f"{dialect}.sql"))
    return aiosql.from_str(text, DRIVERS[dialect])


class Backend(abc.ABC):
    """Connections and transactions, news after commit, the named queries, rows into values, the clock."""

    dialect: ClassVar[str]  # names the queries/<dialect>.sql and migrations/<dialect>/ this backend runs

    def __init__(self, clock: Clock = utcnow) -> None:
        self._queries = load_queries(self.dialect)
        self.clock = clock  # every time the store writes or compares is read here: tests move it on, never sleep
        self._wakes = threading.local()  # `pending`: the (topic, payload) news of this thread's open transaction

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def check_writable(self) -> None:  # noqa: B027 - optional hook
        """Raise the store's UnavailableError when a write would fail now (a full or read-only disk under an
        embedded database). Cheap, for a load balancer's health check; a server database checks nothing here."""

    # --- subscriptions ---------------------------------------------------------------------------

    def subscribe(self, on_new_job: Callable[[], None]) -> Callable[[], None]:
        """Call `on_new_job` (from another thread) whenever a job may have become claimable; returns
        the unsubscribe function. A commit in this process calls it directly; one in another process
        reaches it through the backend's push (PostgreSQL: LISTEN/NOTIFY; SQLite: store/wake.py). A
        hint only: workers still poll, so a missed notification costs at most one poll interval."""
        return self._subscribe(wake.JOBS, lambda _: on_new_job())

    def subscribe_webhooks(self, on_due: Callable[[], None]) -> Callable[[], None]:
        """Like `subscribe`, for webhook events written or rescheduled: what the delivery loop waits on."""
        return self._subscribe(wake.WEBHOOKS, lambda _: on_due())

    def subscribe_changes(self, on_change: Callable[[str], None]) -> Callable[[], None]:
        """Call `on_change(job_id)` whenever a job's status or progress changes, or `on_change("*")`
        (`wake.QUEUE_MOVED`) when queued jobs' positions may have: what event streams wait on. A hint,
        like `subscribe`: a listener that must not miss a change still re-reads now and then."""
        return self._subscribe(wake.CHANGES, on_change)

    def _subscribe(self, topic: str, callback: Callable[[str], None]) -> Callable[[], None]:
        stop_local = wake.local_subscribe(self._queue_identity(), topic, callback)
        stop_push = self._subscribe_push(topic, callback)

        def stop() -> None:
            stop_local()
            stop_push()

        return stop

    # --- news for after the commit ---------------------------------------------------------------

    def _claimable(self, conn: Connection) -> None:
        """A job became claimable in this transaction: subscribers are woken once it commits."""
        self._signal(conn, wake.JOBS)

    def _changed(self, conn: Connection, job_id: str) -> None:
        """A job's status or progress changed in this transaction (or, for `wake.QUEUE_MOVED`, the queue)."""
        self._signal(conn, wake.CHANGES, job_id)

    def _signal(self, conn: Connection, topic: str, payload: str = "") -> None:
        """News on `topic` for after this transaction commits; nothing if it rolls back."""
        pending: set[tuple[str, str]] = self._wakes.pending
        if (topic, payload) not in pending:
            pending.add((topic, payload))
            self._push_in_transaction(conn, topic, payload)

    def _began(self) -> None:
        """A backend's `_transaction` calls this as it begins, and `_committed` once it has committed."""
        self._wakes.pending = set()

    def _committed(self) -> None:
        signals: set[tuple[str, str]] = getattr(self._wakes, "pending", set())
        if signals:
            self._wakes.pending = set()
            for topic, payload in signals:
                wake.local_notify(self._queue_identity(), topic, payload)
            self._push_after_commit(signals)

    # --- running the named queries ---------------------------------------------------------------

    def _run(self, conn: Connection, query: str, **params: Any) -> Any:
        """Run one named query with its parameters in the backend's column types; what aiosql returns."""
        return getattr(self._queries, query)(conn, **{name: self._to_db(value) for name, value in params.items()})

    def _row(self, conn: Connection, query: str, **params: Any) -> Row | None:
        return self._run(conn, query, **params)

    def _rows(self, conn: Connection, query: str, **params: Any) -> list[Row]:
        # Drained at once: a SQLite cursor left open across a write makes that write fail (a stale snapshot).
        return list(self._run(conn, query, **params))

    def _read_row(self, query: str, **params: Any) -> Row | None:
        with self._connection() as conn:
            return self._row(conn, query, **params)

    def _write(self, query: str, **params: Any) -> int:
        """One write statement on its own; the number of rows it changed."""
        with self._statement() as conn:
            return self._run(conn, query, **params)

    # --- rows into values ------------------------------------------------------------------------

    def _job(self, row: Row) -> Job:
        time, data = self._from_db_time, self._from_db_json
        return Job(
            id=row["id"], owner=row["owner"], model_id=row["model_id"], input=data(row["input"]),
            status=Status(row["status"]), created_at=time(row["created_at"]), started_at=time(row["started_at"]),
            finished_at=time(row["finished_at"]), attempts=row["attempts"], lease_owner=row["lease_owner"],
            lease_expires_at=time(row["lease_expires_at"]), progress=row["progress"], output_key=row["output_key"],
            error_code=row["error_code"], error_message=row["error_message"], metadata=data(row["metadata"]),
            poster_key=row["poster_key"], seq=row["seq"],
            webhook=None if row["webhook_url"] is None else Webhook(
                row["webhook_url"], frozenset(filter(None, row["webhook_events"].split(",")))),
        )

    def _event(self, row: Row) -> WebhookEvent:
        time = self._from_db_time
        return WebhookEvent(id=row["id"], job_id=row["job_id"], owner=row["owner"], type=EventType(row["type"]),
                            url=row["url"], created_at=time(row["created_at"]), state=DeliveryState(row["state"]),
                            attempts=row["attempts"], next_attempt_at=time(row["next_attempt_at"]))

    def _attempt(self, row: Row) -> WebhookAttempt:
        return WebhookAttempt(attempt=row["attempt"], at=self._from_db_time(row["at"]), status_code=row["status_code"],
                              latency_ms=row["latency_ms"], error=row["error"])

    def _key(self, row: Row) -> ApiKey:
        return ApiKey(id=row["id"], name=row["name"], prefix=row["prefix"],
                      created_at=self._from_db_time(row["created_at"]), revoked_at=self._from_db_time(row["revoked_at"]))

    def _worker(self, row: Row) -> WorkerInfo:
        return WorkerInfo(row["id"], self._from_db_json(row["engine"]), self._from_db_time(row["started_at"]),
                          self._from_db_time(row["last_seen_at"]))

    # --- what a backend supplies -----------------------------------------------------------------

    @abc.abstractmethod
    def _connection(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for reads."""

    @abc.abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Connection]:
        """One write transaction, committed when the body returns and rolled back if it raises."""

    def _statement(self) -> contextlib.AbstractContextManager[Connection]:
        """Where a write of one statement runs: a transaction, unless the backend's connections
        already commit each statement atomically on their own."""
        return self._transaction()

    def _exclusive(self, conn: Connection, name: str) -> None:  # noqa: B027 - optional hook
        """Hold a lock named `name` until the transaction ends. A backend whose write transactions
        already exclude one another (SQLite's one write lock) has nothing to do."""

    def _retried(self, action: Callable[[], Any]) -> Any:
        """Run `action` (one transaction); a backend whose connections can be cut may run it once more."""
        return action()

    @abc.abstractmethod
    def _queue_identity(self) -> str:
        """What names this queue for every store object in this process that opens it (a path, a URL)."""

    def _subscribe_push(self, topic: str, callback: Callable[[str], None]) -> Callable[[], None]:
        """Hear other processes' news on `topic`; returns the stop function. No push: polling only."""
        return lambda: None

    def _push_in_transaction(self, conn: Connection, topic: str, payload: str) -> None:  # noqa: B027 - optional hook
        """Tell other processes, delivered only if the transaction commits (PostgreSQL's NOTIFY)."""

    def _push_after_commit(self, signals: set[tuple[str, str]]) -> None:  # noqa: B027 - optional hook
        """Tell other processes once committed (SQLite's datagrams): (topic, payload) pairs."""

    @abc.abstractmethod
    def _run_script(self, conn: Connection, script: str) -> None:
        """Run a migration script, several statements, inside the open transaction."""

    @abc.abstractmethod
    def _to_db(self, value: Any) -> Any:
        """A parameter as the backend's columns hold it: datetimes, dicts (JSON) and lists need it."""

    @abc.abstractmethod
    def _from_db_time(self, value: Any) -> datetime | None: ...

    @abc.abstractmethod
    def _from_db_json(self, value: Any) -> Any: ...


class Transaction:
    """An open transaction as code handed it sees it (admission.py's `Admission`): the named queries on
    its connection, rows as values, and news for after it commits; never the backend's own hooks."""

    def __init__(self, backend: Backend, conn: Connection) -> None:
        self._backend = backend
        self._conn = conn

    def run(self, query: str, **params: Any) -> Any:
        return self._backend._run(self._conn, query, **params)

    def row(self, query: str, **params: Any) -> Row | None:
        return self._backend._row(self._conn, query, **params)

    def job(self, row: Row) -> Job:
        return self._backend._job(row)

    def time(self, value: Any) -> datetime | None:
        return self._backend._from_db_time(value)

    def claimable(self) -> None:
        """A job became claimable: subscribers are woken once this transaction commits."""
        self._backend._claimable(self._conn)
