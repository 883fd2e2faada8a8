"""`reelserve keys create|list|revoke|rotate-webhook-secret`: API keys, stored only as hashes, and
each key's webhook signing secret."""

from __future__ import annotations

from typing import Annotated

import typer

from reelserve.cli.compose import settings_from, store_for
from reelserve.cli.options import DataDir


def create(name: Annotated[str, typer.Option(help="A label for the key.")], data_dir: DataDir = None) -> None:
    """Create a key and print it, this once.

    It is the last line of stdout; only its hash is stored."""
    key, plaintext = store_for(settings_from(data_dir=data_dir)).create_key(name)
    typer.echo(f"created key {key.id} ({key.name}); it is shown only once:", err=True)
    typer.echo(plaintext)


def list_keys(data_dir: DataDir = None) -> None:
    """List the keys: a header row, then one row per key.

    Never the keys themselves: only their hashes are stored."""
    typer.echo("ID\tNAME\tPREFIX\tCREATED\tREVOKED")
    for key in store_for(settings_from(data_dir=data_dir)).list_keys():
        revoked = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "active"
        typer.echo(f"{key.id}\t{key.name}\t{key.prefix}…\t{key.created_at.isoformat(timespec='seconds')}\t{revoked}")


def revoke(key_id: Annotated[str, typer.Argument(help="The key id from `keys list`.")], data_dir: DataDir = None) -> None:
    """Revoke a key; its requests stay.

    A revoked key can no longer authenticate."""
    if not store_for(settings_from(data_dir=data_dir)).revoke_key(key_id):
        typer.echo(f"no active key with id {key_id!r}; see `reelserve keys list`", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


def rotate_webhook_secret(key_id: Annotated[str, typer.Argument(help="The key id from `keys list`.")],
                          data_dir: DataDir = None) -> None:
    """Replace a key's webhook secret; print the new one.

    The new secret is the last line of stdout. Every attempt from now on, retries of earlier events
    included, is signed with it: update the receiver at once (a receiver may accept both secrets
    while it switches over)."""
    secret = store_for(settings_from(data_dir=data_dir)).rotate_webhook_secret(key_id)
    if secret is None:
        typer.echo(f"no active key with id {key_id!r}; see `reelserve keys list`", err=True)
        raise typer.Exit(1)
    typer.echo(f"rotated the webhook signing secret of {key_id}; the new one:", err=True)
    typer.echo(secret)
