"""The `reelserve keys` commands through typer's runner."""

from __future__ import annotations

from typer.testing import CliRunner

from reelserve.cli import app
from reelserve.settings import Settings
from reelserve.store import open_store

runner = CliRunner()


def test_keys_create_list_revoke(tmp_path) -> None:
    data = str(tmp_path / "data")
    created = runner.invoke(app, ["keys", "create", "--name", "ci", "--data-dir", data])
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.strip().splitlines()[-1]  # the key is the last line of stdout
    assert plaintext.startswith("rs_")
    store = open_store(Settings(data_dir=data))
    key = store.authenticate(plaintext)
    assert key is not None and key.name == "ci"

    listed = runner.invoke(app, ["keys", "list", "--data-dir", data])
    assert key.id in listed.stdout and plaintext not in listed.stdout

    assert runner.invoke(app, ["keys", "revoke", key.id, "--data-dir", data]).exit_code == 0
    assert store.authenticate(plaintext) is None
    again = runner.invoke(app, ["keys", "revoke", key.id, "--data-dir", data])
    assert again.exit_code == 1 and "no active key" in again.output
