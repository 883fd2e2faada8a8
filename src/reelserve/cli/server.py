"""`reelserve serve`, `reelserve worker` and `reelserve pull`: the processes that run the service."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from reelserve import metrics
from reelserve.cli.compose import api_config, build_deliverer, build_worker, settings_from, storage_for, store_for
from reelserve.cli.logs import setup_logging
from reelserve.cli.options import DataDir, Family, Weights, setting_help
from reelserve.store import JobStore

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
    import uvicorn

    from reelserve.api import create_app

    setup_logging()
    settings = settings_from(host=host, port=port, data_dir=data_dir, weights=weights, model_family=family,
                             run_worker=False if no_worker else None)
    from reelserve.delivery import DeliveryThread

    store, storage = store_for(settings), storage_for(settings)
    _ensure_first_key(store, settings.data_dir)
    app = create_app(api_config(settings), store, storage)
    # access_log off: uvicorn's writes each URL whole, and a media link's query is its signature
    # (api/access.py logs the path). log_config None: uvicorn's lines go through setup_logging's
    # format, with timestamps. No `server: uvicorn` banner.
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info",
                                           access_log=False, log_config=None, server_header=False))
    worker = None
    if settings.run_worker:
        from reelserve.cli.worker_process import WorkerProcess

        # In a child process, so a crash in the engine's native code cannot take the API down (cli/worker_process.py).
        # A server whose worker cannot load its engine would queue requests forever: stop it loudly.
        worker = WorkerProcess(settings, on_failure=lambda: setattr(server, "should_exit", True)).start()
    delivery = DeliveryThread(build_deliverer(settings, store, storage)).start()
    log.info("serving on %s (data dir %s)", settings.base_url, settings.data_dir.resolve())
    # uvicorn handles SIGTERM/SIGINT while it runs, then restores these handlers and raises the
    # signal again; with the default handlers that would kill the process before the worker drains.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    try:
        server.run()  # returns after SIGTERM/SIGINT, once in-flight HTTP requests are answered
        if worker is not None and worker.failed.is_set():
            raise typer.Exit(1)
        if worker is not None:
            worker.shutdown(settings.shutdown_grace_seconds)
    finally:
        delivery.stop(settings.webhook_timeout_seconds)
        metrics.process_exited()


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


def worker(data_dir: DataDir = None, weights: Weights = None, family: Family = None) -> None:
    """Run a worker: generate queued requests and deliver webhooks.

    It claims requests from the shared store (the data dir's, or the database and bucket of the settings).

    SIGTERM or SIGINT stops claiming; the current request gets the shutdown grace period to finish,
    then goes back to the queue for another worker, and the process exits 0.
    """
    from reelserve.delivery import DeliveryThread
    from reelserve.worker.shutdown import run_until_signalled

    setup_logging()
    settings = settings_from(data_dir=data_dir, weights=weights, model_family=family)
    built = build_worker(settings)
    delivery = DeliveryThread(build_deliverer(settings, built.store, built.storage)).start()
    try:
        if not run_until_signalled(built, settings.shutdown_grace_seconds):
            raise typer.Exit(1)
    finally:
        delivery.stop(settings.webhook_timeout_seconds)
        metrics.process_exited()


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
