"""PostgreSQL backend: one queue shared by API replicas and workers on many machines.

Claims take the oldest queued row with `FOR UPDATE SKIP LOCKED`, so concurrent workers never wait
on each other's rows and never take the same one. Admissions for one API key are serialised with
a transaction-scoped advisory lock on the key, which keeps the Idempotency-Key lookup and the
limit counts exact without locking anyone else out. Every write that makes a job claimable sends
`NOTIFY reelserve_jobs` (delivered on commit), so an idle worker in another process wakes at once
instead of polling; one in the committing process is woken directly (store/wake.py). Webhook
events due and jobs changed go out the same way on channels of their own.

Connections come from a small pool (`database_pool_size` per process) rather than one per thread:
an API replica's thread pool would otherwise hold dozens of idle server connections. A connection
is checked (one round trip) before use only when it may have gone stale: unused for a few seconds,
or pooled before another connection was found broken. A busy replica skips the check, and a
restart that cuts its connections costs a single statement one retry on a fresh connection.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from reelserve.errors import ConfigurationError, StoreUnavailableError
from reelserve.store import wake
from reelserve.store.backend import Clock, utcnow
from reelserve.store.base import JobStore

log = logging.getLogger(__name__)

CHANNELS = {wake.JOBS: "reelserve_jobs", wake.WEBHOOKS: "reelserve_webhooks", wake.CHANGES: "reelserve_changes"}
LOCK_NAMESPACE = 0x7265656C  # "reel": the first key of our advisory locks, so they never meet another app's
CONNECT_TIMEOUT_SECONDS = 10
POOL_WAIT_SECONDS = 5  # no working connection this long: answer 503 rather than hang
APPLICATION_NAME = "reelserve"  # shown in pg_stat_activity
LISTEN_RECONNECT_SECONDS = 1.0
STALE_AFTER_SECONDS = 5.0  # a connection unused this long is checked before use: the server may have restarted


class PostgresJobStore(JobStore):
    dialect = "postgres"

    def __init__(self, url: str, *, pool_size: int = 10, clock: Clock = utcnow) -> None:
        super().__init__(clock)
        self.url = url
        self._listeners: list[_Listener] = []
        try:  # once, directly: a wrong URL fails at startup with the server's own reason
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
        except psycopg.OperationalError as exc:
            raise ConfigurationError(
                f"Could not connect to the PostgreSQL database at {_redacted(url)}: {exc}. "
                "Check REELSERVE_DATABASE_URL and that the server is running.") from exc
        self._last_used: weakref.WeakKeyDictionary[psycopg.Connection, float] = weakref.WeakKeyDictionary()
        self._broken_at = 0.0  # when a connection was last found broken: every one pooled before it is suspect
        self._pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, check=self._check_if_stale, reset=self._returned,
            timeout=POOL_WAIT_SECONDS, kwargs={"autocommit": True, "row_factory": dict_row,
                                               "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                                               "application_name": APPLICATION_NAME},
        )
        self._pool.open()

    # --- connections, transactions, locks -------------------------------------------------------

    def _check_if_stale(self, conn: psycopg.Connection) -> None:
        """The pool's check on checkout: a round trip only for a connection that may be stale."""
        last_used = self._last_used.get(conn, 0.0)
        if last_used < self._broken_at or time.monotonic() - last_used > STALE_AFTER_SECONDS:
            ConnectionPool.check_connection(conn)  # raises for a dead one, which the pool then replaces

    def _returned(self, conn: psycopg.Connection) -> None:
        self._last_used[conn] = time.monotonic()

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in autocommit: each statement is its own transaction unless in `_transaction`."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:  # every connection busy, or none can be made: a retryable 503, never a 500
            log.warning("PostgreSQL unavailable: %s", exc)
            raise StoreUnavailableError() from exc
        except psycopg.OperationalError as exc:  # the server went away: so did every connection pooled before now
            self._broken_at = time.monotonic()
            log.warning("PostgreSQL unavailable: %s", exc)
            raise StoreUnavailableError() from exc

    def _once_more_if_cut(self, action: Callable[[], Any]) -> Any:
        """Run a single statement; if its connection turned out to be cut (a restart, a failover), run it
        once more on a checked one. Safe for what goes through here: reads, and writes that are
        idempotent or fenced (a fenced write whose first try did commit is refused the second time,
        which the worker already treats as a possibly lost reply)."""
        try:
            return action()
        except StoreUnavailableError as exc:
            if not isinstance(exc.__cause__, psycopg.OperationalError):
                raise
            log.info("retrying once on a fresh connection")
            return action()

    def _read_row(self, query: str, **params: Any) -> Any:
        return self._once_more_if_cut(lambda: super(PostgresJobStore, self)._read_row(query, **params))

    def _write(self, query: str, **params: Any) -> int:
        return self._once_more_if_cut(lambda: super(PostgresJobStore, self)._write(query, **params))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection]:
        with self._connection() as conn:
            self._began()
            with conn.transaction():
                yield conn
            self._committed()

    # In autocommit a lone statement is already atomic: no BEGIN and COMMIT round trips around it.
    _statement = _connection

    def _retried(self, action: Callable[[], Any]) -> Any:
        return self._once_more_if_cut(action)

    def _exclusive(self, conn: psycopg.Connection, name: str) -> None:
        # READ COMMITTED lets two "not yet" checks pass at once; a transaction-scoped lock makes them take turns.
        self._run(conn, "advisory_lock", namespace=LOCK_NAMESPACE, name=name)

    def _push_in_transaction(self, conn: psycopg.Connection, topic: str, payload: str) -> None:
        # The payload names this process, whose own subscribers were already told directly.
        self._run(conn, "notify", channel=CHANNELS[topic], payload=f"{wake.PROCESS_TOKEN} {payload}")

    def _queue_identity(self) -> str:
        return self.url

    def _run_script(self, conn: psycopg.Connection, script: str) -> None:
        conn.execute(script)  # no parameters: the whole script in one round trip

    def close(self) -> None:
        for listener in self._listeners:
            listener.stop()
        self._pool.close()

    # --- column types: timestamptz and jsonb map onto Python values by themselves --------------------

    def _to_db(self, value: Any) -> Any:
        return Jsonb(value) if isinstance(value, dict) else value

    def _from_db_time(self, value: datetime | None) -> datetime | None:
        return value

    def _from_db_json(self, value: Any) -> Any:
        return value

    # --- push ---------------------------------------------------------------------------------

    def _subscribe_push(self, topic: str, callback: Callable[[str], None]) -> Callable[[], None]:
        listener = _Listener(self.url, CHANNELS[topic], callback)
        self._listeners.append(listener)
        listener.start()
        return listener.stop


class _Listener:
    """A thread holding one LISTEN connection; calls back with the payload of every other process's
    notification on its channel.

    If the connection drops it reconnects, and calls back once on reconnecting (with an empty payload,
    or QUEUE_MOVED for changes: anything may have changed): what happened while it was away was
    told to no one.
    """

    def __init__(self, url: str, channel: str, callback: Callable[[str], None]) -> None:
        self._url = url
        self._channel = channel
        self._callback = callback
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                     application_name=APPLICATION_NAME) as conn:
                    conn.execute(f"LISTEN {self._channel}")
                    self._callback(wake.QUEUE_MOVED if self._channel == CHANNELS[wake.CHANGES] else "")
                    while not self._stopped.is_set():
                        for notice in conn.notifies(timeout=0.5, stop_after=1):
                            sender, _, payload = notice.payload.partition(" ")
                            if sender != wake.PROCESS_TOKEN:  # this process's own: already told
                                self._callback(payload)
            except psycopg.Error as exc:
                log.warning("LISTEN connection lost (%s); workers poll until it is back", exc)
                self._stopped.wait(LISTEN_RECONNECT_SECONDS)


def _redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return " ".join(f"{k}={'***' if k == 'password' else v}" for k, v in info.items())
