"""The `reelserve keys` commands through typer's runner."""

from __future__ import annotations

from typer.testing import CliRunner

from reelserve.cli.compose import store_for
from reelserve.cli import app
from reelserve.settings import Settings

runner = CliRunner()


def test_keys_create_list_revoke(tmp_path) -> None:
    data = str(tmp_path / "data")
    created = runner.invoke(app, ["keys", "create", "--name", "ci", "--data-dir", data])
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.strip().splitlines()[-1]  # the key is the last line of stdout
    assert plaintext.startswith("rs_")
    store = store_for(Settings(data_dir=data))
    key = store.authenticate(plaintext)
    assert key is not None and key.name == "ci"

    listed = runner.invoke(app, ["keys", "list", "--data-dir", data])
    assert key.id in listed.stdout and plaintext not in listed.stdout

    assert runner.invoke(app, ["keys", "revoke", key.id, "--data-dir", data]).exit_code == 0
    assert store.authenticate(plaintext) is None
    again = runner.invoke(app, ["keys", "revoke", key.id, "--data-dir", data])
    assert again.exit_code == 1 and "no active key" in again.output


def test_rotate_webhook_secret_prints_the_new_one(tmp_path) -> None:
    data = str(tmp_path / "data")
    store = store_for(Settings(data_dir=data))
    key, _ = store.create_key("hooks")
    first = store.webhook_secret(key.id)
    rotated = runner.invoke(app, ["keys", "rotate-webhook-secret", key.id, "--data-dir", data])
    assert rotated.exit_code == 0, rotated.output
    secret = rotated.stdout.strip().splitlines()[-1]  # the secret is the last line of stdout
    assert secret.startswith("whsec_") and secret != first and store.webhook_secret(key.id) == secret
    missing = runner.invoke(app, ["keys", "rotate-webhook-secret", "key_nope", "--data-dir", data])
    assert missing.exit_code == 1 and "no active key" in missing.output


def test_keys_commands_use_the_postgres_queue_when_a_database_url_is_set(tmp_path, pg_url) -> None:
    env = {"REELSERVE_DATABASE_URL": pg_url}
    created = runner.invoke(app, ["keys", "create", "--name", "shared", "--data-dir", str(tmp_path)], env=env)
    assert created.exit_code == 0, created.output
    store = store_for(Settings(data_dir=tmp_path, database_url=pg_url))
    assert store.authenticate(created.stdout.strip().splitlines()[-1]).name == "shared"
    assert not (tmp_path / "reelserve.db").exists(), "nothing went to SQLite"
    store.close()


def _cli(*args: str, **env: str):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "reelserve.cli", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_a_wrong_setting_is_one_line_naming_it_and_exit_2(tmp_path) -> None:
    cases = {
        "REELSERVE_DATABASE_URL": ("mysql://db/x", "postgresql://"),
        "REELSERVE_STORAGE_URL": ("gs://bucket", "s3://bucket"),
        "REELSERVE_LEASE_SECONDS": ("-1", "greater than 0"),
    }
    for name, (value, fix) in cases.items():
        ran = _cli("keys", "list", "--data-dir", str(tmp_path), **{name: value})
        assert ran.returncode == 2 and "Traceback" not in ran.stderr, ran.stderr
        assert ran.stderr.startswith(f"error: {name}: ") and fix in ran.stderr, ran.stderr


def test_an_unreachable_database_is_named_without_its_password(tmp_path) -> None:
    ran = _cli("keys", "list", "--data-dir", str(tmp_path),
               REELSERVE_DATABASE_URL="postgresql://app:hunter2@127.0.0.1:1/reelserve")
    assert ran.returncode == 2 and "REELSERVE_DATABASE_URL" in ran.stderr and "Connection refused" in ran.stderr
    assert "hunter2" not in ran.stderr + ran.stdout


def _pull(tmp_path, *args: str, **env: str):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "reelserve.cli", "pull", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HF_HOME": str(tmp_path / "hf"), **env})


def test_pull_offline_fails_fast_with_a_clear_message(tmp_path) -> None:
    result = _pull(tmp_path, "--family", "ltx-2", HF_HUB_OFFLINE="1")
    assert result.returncode == 1
    assert "Could not download ltx-2 (Lightricks/LTX-2)" in result.stderr and "HF_HOME" in result.stderr


def test_pull_unreachable_hub_fails_with_a_clear_message(tmp_path) -> None:
    result = _pull(tmp_path, HF_ENDPOINT="http://127.0.0.1:9")  # nothing listens there: connection refused
    assert result.returncode == 1 and "unreachable" in result.stderr


def test_pull_unknown_family(tmp_path) -> None:
    result = _pull(tmp_path, "--family", "ltx-9")
    assert result.returncode == 2 and "MODEL_FAMILY" in result.stderr and "ltx-2.5" in result.stderr


def test_help_shows_each_default_and_every_weights_choice() -> None:
    serve = " ".join(runner.invoke(app, ["serve", "--help"]).output.split())  # unwrapped
    for text in ("default 127.0.0.1; env REELSERVE_HOST", "default 8000; env REELSERVE_PORT",
                 "default ./data; env REELSERVE_DATA_DIR", "random-full", "default auto; env REELSERVE_WEIGHTS",
                 "default ltx-2.5; env REELSERVE_MODEL_FAMILY"):
        assert text in serve, text
    assert "<bool>" not in serve and "--no-worker " in serve
    run = " ".join(runner.invoke(app, ["run", "--help"]).output.split())
    assert "<bool>" not in run and "intelligent (standard only" in run


def test_run_without_an_api_key_exits_3_naming_the_option(tmp_path) -> None:
    result = runner.invoke(app, ["run", "kling/kling-3.0/pro/text-to-video", "--prompt", "a cat"],
                           env={"REELSERVE_API_KEY": "", "REELSERVE_BASE_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 3, result.output
    assert "--api-key" in result.output and "REELSERVE_API_KEY" in result.output and "api_key=" not in result.output


def test_version_prints_the_installed_package_version() -> None:
    from importlib.metadata import version

    ran = runner.invoke(app, ["--version"])
    assert ran.exit_code == 0 and ran.stdout.strip() == f"reelserve {version('reelserve')}"


def test_keys_list_starts_with_a_header_row(tmp_path) -> None:
    data = str(tmp_path / "data")
    store = store_for(Settings(data_dir=data))
    key, _ = store.create_key("ci")
    rows = [line.split("\t") for line in runner.invoke(app, ["keys", "list", "--data-dir", data]).stdout.splitlines()]
    assert rows[0] == ["ID", "NAME", "PREFIX", "CREATED", "REVOKED"]
    assert rows[1][:2] == [key.id, "ci"] and rows[1][-1] == "active" and len(rows[1]) == len(rows[0])


def test_help_lists_each_command_with_its_first_sentence_whole() -> None:
    """click cuts a command's description to fit an 80-column list, with "...": each must read whole."""
    import typer.main

    for path in ([], ["keys"]):
        group = typer.main.get_command(app)
        for name in path:
            group = group.commands[name]
        listed = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}).output
        commands = " ".join(listed.split("Commands:", 1)[1].split())  # unwrapped
        assert "..." not in commands, listed
        for name, command in group.commands.items():
            first = " ".join(command.help.split("\n\n")[0].split()).split(". ")[0].rstrip(".")
            assert f"{name} {first}" in commands, (name, listed)
