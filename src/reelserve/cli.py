"""The `reelserve` command: thin commands over the layers. Settings are built here, once, and passed down."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from reelserve import cli_client
from reelserve.settings import Settings

# Locals in tracebacks could show a database URL's password or an S3 secret: never print them.
app = typer.Typer(help="Self-hosted text-to-video: a RunComfy-compatible queue API over LTX-2.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
for _command in cli_client.COMMANDS:
    app.command()(_command)

log = logging.getLogger("reelserve")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (env REELSERVE_DATA_DIR).")]
Weights = Annotated[
    str | None,
    typer.Option("--weights", help="auto | tiny | hub id | local dir (env REELSERVE_WEIGHTS).", show_default=False),
]


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "diffusers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _build_worker(settings: Settings):  # noqa: ANN202 - keeps heavy imports out of `keys`
    from reelserve.engines import load_engine
    from reelserve.storage import open_storage
    from reelserve.store import open_store
    from reelserve.worker import Janitor, Worker

    store, storage = open_store(settings), open_storage(settings)
    janitor = Janitor(store, storage, retention_seconds=settings.retention_seconds,
                      reap_every=min(5.0, settings.lease_seconds / 2))
    return Worker(
        store,
        storage,
        lambda: load_engine(settings),
        lease_seconds=settings.lease_seconds,
        poll_seconds=settings.worker_poll_seconds,
        scratch_dir=settings.data_dir / "tmp",
        janitor=janitor,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (env REELSERVE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env REELSERVE_PORT).")] = None,
    data_dir: DataDir = None,
    weights: Weights = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="API only; run `reelserve worker` elsewhere.")] = False,
) -> None:
    """Run the API, with a worker in the same process unless --no-worker."""
    import uvicorn

    from reelserve.api import create_app
    from reelserve.storage import open_storage
    from reelserve.store import open_store

    _setup_logging()
    settings = _settings(host=host, port=port, data_dir=data_dir, weights=weights, run_worker=False if no_worker else None)
    store = open_store(settings)
    _ensure_first_key(store, settings.data_dir)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store, open_storage(settings)),
                                           host=settings.host, port=settings.port, log_level="info"))
    worker = None
    if settings.run_worker:
        from reelserve.worker.shutdown import WorkerThread

        # A server whose worker cannot load its engine would queue requests forever: stop it loudly.
        worker = WorkerThread(_build_worker(settings), on_failure=lambda: setattr(server, "should_exit", True)).start()
    log.info("serving on %s (data dir %s)", settings.base_url, settings.data_dir.resolve())
    # uvicorn handles SIGTERM/SIGINT while it runs, then restores these handlers and raises the
    # signal again; with the default handlers that would kill the process before the worker drains.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    server.run()  # returns after SIGTERM/SIGINT, once in-flight HTTP requests are answered
    if worker is not None and worker.failed.is_set():
        raise typer.Exit(1)
    if worker is not None:
        worker.shutdown(settings.shutdown_grace_seconds)


def _ensure_first_key(store: Any, data_dir: Path) -> None:
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


@app.command()
def worker(data_dir: DataDir = None, weights: Weights = None) -> None:
    """Run a worker process: claim queued requests from the shared store and generate them.

    SIGTERM or SIGINT stops claiming; the current request gets the shutdown grace period to finish,
    then goes back to the queue for another worker, and the process exits 0.
    """
    from reelserve.worker.shutdown import run_until_signalled

    _setup_logging()
    settings = _settings(data_dir=data_dir, weights=weights)
    if not run_until_signalled(_build_worker(settings), settings.shutdown_grace_seconds):
        raise typer.Exit(1)


@app.command()
def pull(
    model_id: Annotated[str | None, typer.Argument(help="A model id; all served model ids when omitted.")] = None,
) -> None:
    """Download the checkpoints the recipes need (resumable, with progress), so serving starts warm."""
    from reelserve.catalog import RECIPES
    from reelserve.engines.ltx2.pull import pull_checkpoint
    from reelserve.errors import WeightsUnavailableError

    if model_id is not None and model_id not in RECIPES:
        typer.echo(f"unknown model id {model_id!r}; served: {', '.join(RECIPES)}", err=True)
        raise typer.Exit(2)
    recipes = [RECIPES[model_id]] if model_id else list(RECIPES.values())
    for checkpoint in dict.fromkeys(r.checkpoint for r in recipes):
        try:
            typer.echo(f"{checkpoint}: {pull_checkpoint(checkpoint)}")
        except WeightsUnavailableError as exc:
            typer.echo(exc.message, err=True)
            raise typer.Exit(1) from exc


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Option(help="A label for the key.")], data_dir: DataDir = None) -> None:
    """Create a key; it is printed once, as the last line of stdout, and stored only as a hash."""
    from reelserve.store import open_store

    key, plaintext = open_store(_settings(data_dir=data_dir)).create_key(name)
    typer.echo(f"created key {key.id} ({key.name}); it is shown only once:", err=True)
    typer.echo(plaintext)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List keys (id, name, prefix, created, revoked); never the keys themselves."""
    from reelserve.store import open_store

    for key in open_store(_settings(data_dir=data_dir)).list_keys():
        revoked = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "active"
        typer.echo(f"{key.id}\t{key.name}\t{key.prefix}…\t{key.created_at.isoformat(timespec='seconds')}\t{revoked}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id from `keys list`.")], data_dir: DataDir = None) -> None:
    """Revoke a key: its requests stay, but it can no longer authenticate."""
    from reelserve.store import open_store

    if not open_store(_settings(data_dir=data_dir)).revoke_key(key_id):
        typer.echo(f"no active key with id {key_id!r}; see `reelserve keys list`", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


def main() -> None:
    """The `reelserve` entry point: a setting the operator got wrong is one clear line and exit 2, not a traceback."""
    from pydantic import ValidationError

    from reelserve.errors import ConfigurationError

    try:
        app()
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            typer.echo(f"error: REELSERVE_{field.upper()}: {error['msg'].removeprefix('Value error, ')}", err=True)
        raise SystemExit(2) from None
    except ConfigurationError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
