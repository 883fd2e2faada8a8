"""Telling other threads and processes that something committed: a job became claimable, a webhook
event is due, a job's status or progress changed. Directly within a process, and across processes
on one machine's SQLite queue.

Each kind of news is a *topic* (`JOBS`, `WEBHOOKS`, `CHANGES`) and carries a short payload (a
changed job's id, or `QUEUE_MOVED` when every queued job's position may have changed), so a
listener hears only what it waits for: a webhook event never wakes a worker to an empty claim, and
an open event stream re-reads only when its own job (or the queue) moved.

In the process that commits a claimable job, every worker subscribed to the same queue is woken by
a direct call once the commit returns (`local_subscribe`, `local_notify`): no socket, no listener
thread, no database round trip between the submit and the claim. That is `reelserve serve`'s own
worker; the pushes below are for the other processes.

SQLite has no LISTEN/NOTIFY, so workers used to find new work only by polling (every 0.5 s). Here
each subscribed worker binds a Unix datagram socket in a folder named after the database, and a
committed change that makes a job claimable sends one byte to every socket there: the API's
submit wakes the worker thread in its own process, and `reelserve worker` processes beside it.
Unix sockets are files, not network traffic. Polling stays as the fallback: a datagram that is
lost (a full buffer means a wake is already pending) costs at most one poll interval.

The folder lives under the system's temp dir, not the data dir, because a socket's path must fit
in 108 bytes; it is created 0700 and refused if another user owns it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

RECEIVE_TIMEOUT_SECONDS = 0.5  # how often a listener checks whether it was stopped
PROCESS_TOKEN = f"{os.getpid()}-{secrets.token_hex(4)}"  # tells this process's own pushes from others'

JOBS = "jobs"  # a job may have become claimable; no payload
WEBHOOKS = "webhooks"  # a webhook event was written and is due; no payload
CHANGES = "changes"  # a job's status or progress changed; payload: its id, or QUEUE_MOVED
TOPICS = (JOBS, WEBHOOKS, CHANGES)
QUEUE_MOVED = "*"  # a claim, cancel or requeue: every queued job's position may have changed

Callback = Callable[[str], None]  # called with the payload
_local: dict[tuple[str, str], list[Callback]] = {}  # (queue identity, topic) -> this process's subscribers
_local_lock = threading.Lock()


def local_subscribe(queue: str, topic: str, callback: Callback) -> Callable[[], None]:
    """Call `callback(payload)` whenever this process commits news on `topic` for `queue`; returns the
    stop function."""
    with _local_lock:
        _local.setdefault((queue, topic), []).append(callback)

    def stop() -> None:
        with _local_lock:
            with contextlib.suppress(ValueError):
                _local[(queue, topic)].remove(callback)

    return stop


def local_notify(queue: str, topic: str, payload: str = "") -> None:
    """Tell this process's subscribers, in the committing thread (each callback only sets an event)."""
    with _local_lock:
        callbacks = list(_local.get((queue, topic), ()))
    for callback in callbacks:
        callback(payload)


def wake_folder(database: Path, topic: str = JOBS) -> Path:
    digest = hashlib.sha256(str(Path(database).resolve()).encode()).hexdigest()[:16]
    suffix = "" if topic == JOBS else f"-{topic}"  # the jobs folder keeps its first name
    return Path(tempfile.gettempdir()) / f"reelserve-wake-{digest}{suffix}"


def _private_folder(folder: Path) -> bool:
    """The folder, made 0700 if new; False when it belongs to someone else (who could spoof wakes)."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        log.warning("%s is not this user's private folder: workers find new jobs by polling only", folder)
        return False
    return True


def notify(folder: Path, payload: str = "") -> None:
    """Send `payload` to every other process's listener in `folder` (this process's were called by
    `local_notify`); sockets whose process is gone are removed."""
    if not folder.is_dir():
        return
    own = f"{os.getpid()}-"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for path in folder.glob("*.sock"):
            if path.name.startswith(own):
                continue
            try:
                sender.sendto(payload.encode() or b"!", str(path))
            except (ConnectionRefusedError, FileNotFoundError):
                path.unlink(missing_ok=True)  # its process died without unlinking it
            except (BlockingIOError, OSError):
                pass  # its buffer is full: a wake is already waiting there


def listen(folder: Path, callback: Callback) -> Callable[[], None]:
    """Call `callback(payload)` (from a thread of its own) for each datagram sent to `folder`; returns the
    stop function."""
    if not _private_folder(folder):
        return lambda: None
    path = folder / f"{os.getpid()}-{secrets.token_hex(4)}.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.settimeout(RECEIVE_TIMEOUT_SECONDS)
    stopped = threading.Event()

    def receive() -> None:
        while not stopped.is_set():
            try:
                data = receiver.recv(256)
            except TimeoutError:
                continue
            except OSError:
                return
            callback("" if data == b"!" else data.decode(errors="replace"))

    thread = threading.Thread(target=receive, name="store-wake", daemon=True)
    thread.start()

    def stop() -> None:
        stopped.set()
        thread.join(RECEIVE_TIMEOUT_SECONDS * 2)
        receiver.close()
        path.unlink(missing_ok=True)

    return stop
