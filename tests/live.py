"""`reelserve serve` as a real process on a free port, for tests that need the whole stack over HTTP."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class LiveServer:
    base: str
    key: str
    proc: subprocess.Popen
    log: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def health(base: str, key: str) -> dict:
    """The detailed health (workers, engine), which needs a key; /healthz says only "ok"."""
    return httpx.get(f"{base}/v1/health", headers={"Authorization": f"Bearer {key}"}, timeout=2).json()


def engine_ready(base: str, key: str) -> bool:
    engine = health(base, key)["engine"]
    return bool(engine) and engine["state"] == "ready"


@contextlib.contextmanager
def app_in_thread(app) -> Iterator[str]:
    """An ASGI app served by uvicorn on a loopback port, in this process; yields its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped before it started"
        thread.join(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def in_mount_namespace(mount: str, command: list[str]) -> list[str]:
    """`command` in a private mount namespace where its data dir (the argument after --data-dir) is `mount`:
    a shell command with $D for that folder, e.g. `mount -t tmpfs -o size=8m tmpfs $D`. The shell execs the
    command, so the process the test holds is the server; faults made in the namespace touch nothing else."""
    data_dir = command[command.index("--data-dir") + 1]
    script = f'D={data_dir}; {mount} && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *command]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reelserve_env(tiny_cache: Path, **settings: str) -> dict[str, str]:
    env = {**os.environ, "REELSERVE_CACHE_DIR": str(tiny_cache), "REELSERVE_WORKER_POLL_SECONDS": "0.05"}
    return env | {f"REELSERVE_{name.upper()}": value for name, value in settings.items()}


@contextlib.contextmanager
def live_server(data_dir: Path, tiny_cache: Path, *, worker: bool = True, key: str | None = None,
                mount: str | None = None, prefix: tuple[str, ...] = (), **settings: str) -> Iterator[LiveServer]:
    """Serve with the tiny engine; on exit, SIGTERM it and check it exits 0 and never logged the key.

    `worker=False` runs an API replica (`--no-worker`): ready once /healthz answers. `key` is an
    existing API key; without one, the server's first key (data_dir/first-api-key) is used. `mount`:
    the data dir is a mount of its own, in a private mount namespace the server runs in (`in_mount_namespace`).
    `prefix`: a command the server runs under, e.g. setpriv dropping capabilities.
    """
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}-stdout.log" if mount else data_dir / "stdout.log"
    command = [sys.executable, "-m", "reelserve.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
               "--weights", "tiny", *([] if worker else ["--no-worker"])]
    if mount:
        command = in_mount_namespace(mount, command)
    command = [*prefix, *command]
    with open(log, "w+") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=reelserve_env(tiny_cache, **settings))
        try:
            base = f"http://127.0.0.1:{port}"
            # Seen from outside, a namespace's files are under /proc/<pid>/root.
            inside = Path(f"/proc/{proc.pid}/root{data_dir}") if mount else data_dir
            key = _wait_until_ready(base, log, proc, engine=worker, key=key, key_file=inside / "first-api-key")
            server = LiveServer(base, key, proc, log)
            yield server
        finally:
            proc.terminate()
            code = proc.wait(timeout=60)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert server.key not in text, "the API key reached the server's log"
    check_plain_log(text)


LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")
FIRST_KEY_LINES = ("No API key existed", "  export REELSERVE_API_KEY=")


def check_plain_log(text: str) -> None:
    """What any server log must be: plain lines with a timestamp, no media link signatures, no bars."""
    assert "\r" not in text and "\x1b" not in text, "progress bars or terminal escape codes in the log"
    assert "signature=" not in text, "a media link's signature reached the log"
    assert " reelserve.access: " in text, "no access log"
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith(FIRST_KEY_LINES):
            # A traceback's lines follow the timestamped line that logged it.
            assert LOG_LINE.match(line) or _traceback_line(line), f"a log line without a timestamp: {line!r}"


def _traceback_line(line: str) -> bool:
    return line.startswith("Traceback ") or re.match(r"[\w.]+(Error|Exception|Exit)\b", line) is not None


def _wait_until_ready(base: str, log: Path, proc: subprocess.Popen, *, engine: bool, key: str | None,
                      key_file: Path) -> str:
    """Wait for /healthz, and with `engine` for a ready worker in /v1/health; returns the API key."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                key = key or key_file.read_text().strip()
                if not engine or engine_ready(base, key):
                    assert "rs_" not in log.read_text(), "the API key was written to the log"
                    return key
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server not ready:\n" + log.read_text())
