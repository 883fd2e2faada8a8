"""`reelserve serve`, `reelserve worker` and `reelserve pull`: the processes that run the service.

`serve` and `worker` read as the same steps: logging, the settings, the parts (cli/compose.py), then the work,
with webhook delivery beside it (cli/lifetime.py), until SIGTERM/SIGINT, and the shutdown order. Every
`reelserve` command imports this module, and `reelserve keys ...` must start in a fraction of a second: what
only a running service needs (uvicorn, FastAPI, the worker, delivery) is imported in one marked spot at the
top of its command, or where cli/compose.py builds it.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reelserve.cli.compose import (build_deliverer, build_http_server, build_worker, settings_from, storage_for,
                                   store_for)
from reelserve.cli.logs import setup_logging
from reelserve.cli.options import DataDir, Family, Weights, setting_help
from reelserve.cli.worker_process import WorkerProcess
from reelserve.settings import Settings
from reelserve.store import JobStore

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("reelserve")


def serve(
    host: Annotated[str | None, typer.Option(help=setting_help("Interface to listen on", "host"),
                                             show_default=False)] = None,
    port: Annotated[int | None, typer.Option(help=setting_help("Port", "port"), show_default=False)] = None,
    data_dir: DataDir = None,
    weights: Weights = None,
    family: Family = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="API only; run `reelserve worker` elsewhere.")] = False,
) -> None:
    """Run the API, and a worker in a child process unless --no-worker."""
    from reelserve.cli import lifetime  # lazy: only a running service delivers webhooks

    setup_logging()
    settings = settings_from(host=host, port=port, data_dir=data_dir, weights=weights, model_family=family,
                             run_worker=False if no_worker else None)
    store, storage = store_for(settings), storage_for(settings)
    _ensure_first_key(store, settings.data_dir)
    http = build_http_server(settings, store, storage)
    worker = _start_worker_child(settings, http) if settings.run_worker else None
    deliverer = build_deliverer(settings, store, storage)
    with lifetime.metrics_dropped_at_exit(), lifetime.webhooks_delivered(deliverer):
        log.info("serving on %s (data dir %s)", settings.base_url, settings.data_dir.resolve())
        _serve_until_signalled(http)
        _stop_worker_child(worker, settings.shutdown_grace_seconds)


def _ensure_first_key(store: JobStore, data_dir: Path) -> None:
    created = store.create_first_key("default")  # atomic: replicas starting together make one key
    if created is None:
        return
    _, plaintext = created
    if sys.stdout.isatty():
        typer.echo("No API key existed, so one was created. It is shown only this once; keep it:")
        typer.echo(f"  export REELSERVE_API_KEY={plaintext}")
        return
    # Not a terminal: stdout is probably a log file or collector, and keys never go into logs.
    path = data_dir / "first-api-key"
    path.touch(mode=0o600)
    path.write_text(plaintext + "\n")
    typer.echo(f"No API key existed, so one was created and written to {path} (mode 0600); use it with:")
    typer.echo(f"  export REELSERVE_API_KEY=$(cat {path})")


def _start_worker_child(settings: Settings, http: uvicorn.Server) -> WorkerProcess:
    """The worker, in a child process so that a crash in the engine's native code cannot take the API down
    (cli/worker_process.py). A server whose worker cannot load its engine would queue requests forever: its
    HTTP server is stopped, loudly."""
    return WorkerProcess(settings, on_failure=lambda: setattr(http, "should_exit", True)).start()


def _serve_until_signalled(http: uvicorn.Server) -> None:
    """Answer HTTP until SIGTERM/SIGINT, then finish the requests in flight."""
    # uvicorn handles SIGTERM/SIGINT while it runs, then restores these handlers and raises the
    # signal again; with the default handlers that would kill the process before the worker drains.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    http.run()


def _stop_worker_child(worker: WorkerProcess | None, grace_seconds: float) -> None:
    """After the HTTP server, before delivery: the job in hand gets the grace period. A worker that could not
    load its engine (and so stopped the server) makes the exit code 1."""
    if worker is None:
        return
    if worker.failed.is_set():
        raise typer.Exit(1)
    worker.shutdown(grace_seconds)


def worker(data_dir: DataDir = None, weights: Weights = None, family: Family = None) -> None:
    """Run a worker: generate queued requests and deliver webhooks.

    It claims requests from the shared store (the data dir's, or the database and bucket of the settings).

    SIGTERM or SIGINT stops claiming; the current request gets the shutdown grace period to finish,
    then goes back to the queue for another worker, and the process exits 0.
    """
    # lazy: only a running service delivers webhooks, and the worker package loads PyAV
    from reelserve.cli import lifetime
    from reelserve.worker.shutdown import run_until_signalled

    setup_logging()
    settings = settings_from(data_dir=data_dir, weights=weights, model_family=family)
    built = build_worker(settings)
    deliverer = build_deliverer(settings, built.store, built.storage)
    with lifetime.metrics_dropped_at_exit(), lifetime.webhooks_delivered(deliverer):
        if not run_until_signalled(built, settings.shutdown_grace_seconds):
            raise typer.Exit(1)


def pull(family: Family = None) -> None:
    """Download the model family's weights before the first start.

    Resumable and with progress: the checkpoint, full transformer, upsampler, LoRA and prompt enhancer.
    """
    from reelserve.engines.ltx2.families import family_named
    from reelserve.engines.ltx2.pull import pull_family
    from reelserve.errors import WeightsUnavailableError

    chosen = family_named(settings_from(model_family=family).model_family)
    try:
        for folder in pull_family(chosen):
            typer.echo(f"{chosen.name}: {folder}")
    except WeightsUnavailableError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
