"""Waking idle workers: directly within a process, and across processes on one machine's SQLite queue.

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

_local: dict[str, list[Callable[[], None]]] = {}  # queue identity -> this process's subscribers
_local_lock = threading.Lock()


def local_subscribe(queue: str, callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` whenever this process commits a claimable job on `queue`; returns the stop function."""
    with _local_lock:
        _local.setdefault(queue, []).append(callback)

    def stop() -> None:
        with _local_lock:
            with contextlib.suppress(ValueError):
                _local[queue].remove(callback)

    return stop


def local_notify(queue: str) -> None:
    """Wake this process's subscribers to `queue`, in the committing thread (each callback only sets an event)."""
    with _local_lock:
        callbacks = list(_local.get(queue, ()))
    for callback in callbacks:
        callback()


def wake_folder(database: Path) -> Path:
    digest = hashlib.sha256(str(Path(database).resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"reelserve-wake-{digest}"


def _private_folder(folder: Path) -> bool:
    """The folder, made 0700 if new; False when it belongs to someone else (who could spoof wakes)."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        log.warning("%s is not this user's private folder: workers find new jobs by polling only", folder)
        return False
    return True


def notify(folder: Path) -> None:
    """Wake every other process's listener in `folder` (this process's were called by `local_notify`);
    sockets whose process is gone are removed."""
    if not folder.is_dir():
        return
    own = f"{os.getpid()}-"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for path in folder.glob("*.sock"):
            if path.name.startswith(own):
                continue
            try:
                sender.sendto(b"!", str(path))
            except (ConnectionRefusedError, FileNotFoundError):
                path.unlink(missing_ok=True)  # its process died without unlinking it
            except (BlockingIOError, OSError):
                pass  # its buffer is full: a wake is already waiting there


def listen(folder: Path, callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (from a thread of its own) for each wake sent to `folder`; returns the stop function."""
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
                receiver.recv(64)
            except TimeoutError:
                continue
            except OSError:
                return
            callback()

    thread = threading.Thread(target=receive, name="store-wake", daemon=True)
    thread.start()

    def stop() -> None:
        stopped.set()
        thread.join(RECEIVE_TIMEOUT_SECONDS * 2)
        receiver.close()
        path.unlink(missing_ok=True)

    return stop
