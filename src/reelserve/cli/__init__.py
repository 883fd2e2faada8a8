"""The `reelserve` command: the composition root. Settings are built here, once; cli/compose.py maps them
onto each layer's frozen config and builds the parts from those; every command is a thin layer over them.

    serve, worker, pull      cli/server.py     the processes that run the service
    keys create|list|revoke| cli/keys.py       API keys and their webhook signing secrets
    rotate-webhook-secret
    run, submit, status,     cli/client.py     the SDK on the command line, against reelserve or any
    result, cancel                             RunComfy-compatible server
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer

from reelserve.cli import client, keys, server

# Locals in tracebacks could show a database URL's password or an S3 secret: never print them.
# rich_markup_mode None: click's plain help, which reads the same in a terminal, a pipe and a log,
# and does not print `<bool>` beside a flag that takes no value.
app = typer.Typer(help="Self-hosted text-to-video: a RunComfy-compatible queue API over LTX-2.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False, rich_markup_mode=None)
keys_app = typer.Typer(help="Create, list and revoke API keys and their webhook secrets.",
                       no_args_is_help=True, rich_markup_mode=None)


def _summary(command: Callable[..., Any]) -> str:
    """A command's first sentence, whole, for the command list: click would cut a long one short with
    "..." to fit 80 columns; given as `short_help` it wraps instead."""
    first_paragraph = " ".join(inspect.cleandoc(command.__doc__ or "").split("\n\n")[0].split())
    sentence, period, _ = first_paragraph.partition(". ")
    return sentence + period.strip()


def _print_version(wanted: bool) -> None:
    if wanted:
        try:
            typer.echo(f"reelserve {version('reelserve')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("reelserve (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                   help="Print the version and exit.")] = False) -> None:
    # The options of `reelserve` itself, before a command; `--version` acts in its callback.
    return None


app.add_typer(keys_app, name="keys")
for _command in (server.serve, server.worker, server.pull, *client.COMMANDS):
    app.command(short_help=_summary(_command))(_command)
for _name, _command in (("create", keys.create), ("list", keys.list_keys), ("revoke", keys.revoke),
                        ("rotate-webhook-secret", keys.rotate_webhook_secret)):
    keys_app.command(_name, short_help=_summary(_command))(_command)


def main() -> None:
    """The `reelserve` entry point: a setting the operator got wrong is one clear line and exit 2, not a traceback."""
    from pydantic import ValidationError

    from reelserve.errors import ConfigurationError, field_problems

    try:
        app()
    except ValidationError as exc:
        for problem in field_problems(exc.errors(include_url=False)):  # one line each: the variable, then why
            variable = "REELSERVE_" + ".".join(map(str, problem["loc"])).upper()
            typer.echo(f"error: {variable}: {problem['msg']}", err=True)
        raise SystemExit(2) from None
    except ConfigurationError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise SystemExit(2) from None


