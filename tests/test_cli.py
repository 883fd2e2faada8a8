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


def test_reading_the_settings_writes_nothing_and_the_signing_key_is_made_once_private(tmp_path) -> None:
    """Settings only read; the composition root makes the data dir's signing key, on first use, mode 0600 in a
    0700 data dir, and every process (here: threads racing) gets the same one."""
    import stat
    from concurrent.futures import ThreadPoolExecutor

    from reelserve.cli.compose import storage_config

    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    settings.model_dump()
    assert not data.exists(), f"reading the settings wrote {sorted(data.iterdir())}"
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: storage_config(settings).signing_secret, range(16)))
    assert len(secrets) == 1, f"{len(secrets)} different secrets were made"
    assert (data / "signing.key").read_text().strip().encode() in secrets
    assert stat.S_IMODE(data.stat().st_mode) == 0o700, oct(data.stat().st_mode)
    assert stat.S_IMODE((data / "signing.key").stat().st_mode) == 0o600, oct((data / "signing.key").stat().st_mode)
    assert sorted(p.name for p in data.iterdir()) == ["signing.key"], "a temporary key file was left behind"

    configured = Settings(data_dir=tmp_path / "other", signing_secret="given")
    assert storage_config(configured).signing_secret == b"given"
    assert not (tmp_path / "other").exists(), "a configured secret made a key file"


def test_the_webhook_timeout_is_read_once_and_the_lease_follows_it(tmp_path) -> None:
    from reelserve.cli.compose import build_deliverer, storage_for
    from reelserve.delivery.deliverer import lease_for

    settings = Settings(data_dir=tmp_path, signing_secret="s", webhook_timeout_seconds=3, webhook_concurrency=2,
                        webhook_retry_seconds=7, webhook_retry_window_seconds=70)
    store = store_for(settings)
    deliverer = build_deliverer(settings, store, storage_for(settings))
    assert deliverer.sender.deadline_seconds == 3 and deliverer.lease_seconds == lease_for(3), deliverer.lease_seconds
    assert (deliverer.retry.first_delay_seconds, deliverer.retry.give_up_after_seconds) == (7, 70), deliverer.retry
    store.close()


def test_the_cli_loads_no_service_module_until_a_service_command_runs() -> None:
    """Every command imports cli/server.py: `reelserve keys ...` must not pay for uvicorn, FastAPI, the worker
    (PyAV), delivery or boto3."""
    import subprocess
    import sys

    heavy = ("uvicorn", "fastapi", "av", "torch", "boto3", "reelserve.api", "reelserve.worker", "reelserve.delivery",
             "reelserve.engines", "reelserve.cli.lifetime")
    probe = f"import sys, reelserve.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and ran.stdout.strip() == "[]", ran.stdout + ran.stderr
