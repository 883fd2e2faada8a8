"""The `reelserve` command: the composition root. Settings are built here, once, and the parts are
built from them (cli/compose.py) and passed down as plain values; every command is a thin layer over them.

    serve, worker, pull      cli/server.py     the processes that run the service
    keys create|list|revoke| cli/keys.py       API keys and their webhook signing secrets
    rotate-webhook-secret
    run, submit, status,     cli/client.py     the SDK on the command line, against reelserve or any
    result, cancel                             RunComfy-compatible server
"""

from __future__ import annotations

import typer

from reelserve.cli import client, keys, server

# Locals in tracebacks could show a database URL's password or an S3 secret: never print them.
# rich_markup_mode None: click's plain help, which reads the same in a terminal, a pipe and a log,
# and does not print `<bool>` beside a flag that takes no value.
app = typer.Typer(help="Self-hosted text-to-video: a RunComfy-compatible queue API over LTX-2.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False, rich_markup_mode=None)
keys_app = typer.Typer(help="Create, list and revoke API keys; rotate their webhook signing secrets.",
                       no_args_is_help=True, rich_markup_mode=None)
app.add_typer(keys_app, name="keys")
for _command in (server.serve, server.worker, server.pull, *client.COMMANDS):
    app.command()(_command)
keys_app.command("create")(keys.create)
keys_app.command("list")(keys.list_keys)
keys_app.command("revoke")(keys.revoke)
keys_app.command("rotate-webhook-secret")(keys.rotate_webhook_secret)


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


