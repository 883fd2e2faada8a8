"""The `reelserve` commands through typer's runner: keys, settings and the signing key, and `run`/`submit`
with images (their refusals, and against a real server)."""

from __future__ import annotations

import json

import pytest
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


@pytest.mark.whole  # a `reelserve pull` process: in `make test`, not the fast lane
def test_pull_offline_fails_fast_with_a_clear_message(tmp_path) -> None:
    result = _pull(tmp_path, "--family", "ltx-2", HF_HUB_OFFLINE="1")
    assert result.returncode == 1
    assert "Could not download ltx-2 (Lightricks/LTX-2)" in result.stderr and "HF_HOME" in result.stderr


@pytest.mark.whole  # a `reelserve pull` process: in `make test`, not the fast lane
def test_pull_unreachable_hub_fails_with_a_clear_message(tmp_path) -> None:
    result = _pull(tmp_path, HF_ENDPOINT="http://127.0.0.1:9")  # nothing listens there: connection refused
    assert result.returncode == 1 and "unreachable" in result.stderr


@pytest.mark.whole  # a `reelserve pull` process: in `make test`, not the fast lane
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


# --- image-to-video from the command line: `--image` / `--end-image` ------------------------------------------

I2V = "kling/kling-3.0/standard/image-to-video"
NOWHERE = {"REELSERVE_BASE_URL": "http://127.0.0.1:9", "REELSERVE_API_KEY": "rs_unused"}  # nothing listens there


def _png(tmp_path, name: str = "frame.png", size: tuple[int, int] = (640, 360)):
    from tests.images.pictures import encoded

    path = tmp_path / name
    path.write_bytes(encoded(*size))
    return path


@pytest.mark.parametrize("command", ["run", "submit"])
@pytest.mark.parametrize("model,args,says", [
    ("kling/kling-3.0/pro/text-to-video", ["--image", "{png}"], "use kling/kling-3.0/pro/image-to-video"),
    ("kling/kling-3.0/4k/text-to-video", ["--end-image", "{png}"], "use kling/kling-3.0/4k/image-to-video"),
    (I2V, [], "give --image PATH_OR_URL"),
    (I2V, ["--end-image", "{png}"], "give --image PATH_OR_URL"),
    (I2V, ["--image", "{png}", "--aspect-ratio", "9:16"], "--aspect-ratio is for text-to-video"),
    (I2V, ["--image", "{png}", "--input", "{png}"], "--input sends the file as it is"),
    (I2V, ["--image", "{gif}"], "--image: "),
    (I2V, ["--image", "{png}", "--end-image", "{missing}"], "--end-image: cannot read the image"),
])
def test_image_options_that_do_not_fit_the_model_exit_2_before_any_request(tmp_path, command, model, args, says) -> None:
    """Refused before anything is sent: the server named does not exist, so a request would be exit 1."""
    gif = tmp_path / "anim.png"
    gif.write_bytes(b"GIF89a" + b"\x00" * 64)
    names = {"png": str(_png(tmp_path)), "gif": str(gif), "missing": str(tmp_path / "missing.png")}
    ran = runner.invoke(app, [command, model, "--prompt", "a kite", *(a.format(**names) for a in args)], env=NOWHERE)
    assert ran.exit_code == 2 and says in ran.stderr, (ran.exit_code, ran.output)
    assert "Traceback" not in ran.output and "could not reach" not in ran.stderr, ran.output


def test_an_image_too_large_to_send_inline_exits_2_naming_the_limit_and_a_url(tmp_path) -> None:
    from reelserve.catalog import MAX_DATA_URI_IMAGE_BYTES

    huge = tmp_path / "huge.png"
    with open(huge, "wb") as out:  # sparse: nothing is written to disk
        out.write(b"\x89PNG\r\n\x1a\n")
        out.truncate(MAX_DATA_URI_IMAGE_BYTES + 1)
    ran = runner.invoke(app, ["submit", I2V, "--prompt", "a kite", "--image", str(huge)], env=NOWHERE)
    assert ran.exit_code == 2, ran.output
    assert f"at most {MAX_DATA_URI_IMAGE_BYTES} bytes (15 MiB)" in ran.stderr and "URL" in ran.stderr, ran.stderr


def test_run_and_submit_help_explain_the_image_options() -> None:
    for command in ("run", "submit"):
        shown = " ".join(runner.invoke(app, [command, "--help"]).output.split())  # unwrapped
        for text in ("--image PATH_OR_URL The first frame, for an image-to-video model: a JPEG, PNG or WebP file",
                     "at most 15 MiB) or an http(s) URL the server downloads", "--end-image PATH_OR_URL The last frame"):
            assert text in shown, (command, text, shown)


@pytest.fixture(scope="module")
def image_server(tmp_path_factory, tiny_cache):
    from tests.live import live_server

    with live_server(tmp_path_factory.mktemp("cli-images") / "data", tiny_cache) as live:
        yield live


@pytest.mark.whole  # a real `reelserve serve`
def test_submit_with_a_local_image_is_accepted_and_stored_with_the_request(image_server, tmp_path) -> None:
    import hashlib

    from reelserve.client import Client

    start, end = _png(tmp_path, "start.png"), _png(tmp_path, "end.png", (360, 640))
    env = {"REELSERVE_BASE_URL": image_server.base, "REELSERVE_API_KEY": image_server.key}
    ran = runner.invoke(app, ["submit", I2V, "--prompt", "a kite lifts off", "--image", str(start),
                              "--end-image", str(end), "--duration", "3", "--json"], env=env)
    assert ran.exit_code == 0, ran.output
    request_id = json.loads(ran.stdout)["request_id"]
    with Client(image_server.base, image_server.key) as client:
        made = next(r for r in client.list_requests(limit=50).requests if r.request_id == request_id)
    assert made.model_id == I2V, made.model_id
    for field, path in (("start_image_url", start), ("end_image_url", end)):
        data = path.read_bytes()
        note = (f"data:image/png;base64,\u2026 ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}, "
                "stored with the request)")
        assert made.input[field] == note, made.input[field]
    assert "aspect_ratio" not in made.input, made.input
    data_dir = image_server.log.parent
    stored = {p.name: p.read_bytes() for p in data_dir.rglob(f"{request_id}/*_image")}
    assert stored == {"start_image": start.read_bytes(), "end_image": end.read_bytes()}, sorted(stored)


@pytest.mark.whole  # a real `reelserve serve`, its worker generating the video
def test_run_with_a_local_image_saves_a_video_in_the_images_shape(image_server, tmp_path) -> None:
    from tests.mp4probe import probe_mp4

    out = tmp_path / "kite.mp4"
    env = {"REELSERVE_BASE_URL": image_server.base, "REELSERVE_API_KEY": image_server.key}
    ran = runner.invoke(app, ["run", I2V, "--prompt", "a kite lifts off", "--image", str(_png(tmp_path, size=(360, 640))),
                              "--duration", "3", "--seed", "5", "-o", str(out), "--poll-interval", "0.2",
                              "--timeout", "180", "--json"], env=env)
    assert ran.exit_code == 0, ran.output
    result = json.loads(ran.stdout)
    assert result["status"] == "completed" and result["model_id"] == I2V, result
    info = probe_mp4(out)
    # tiny weights: a fifth of standard's 720x1280, the portrait size nearest the image's shape
    assert (info.width, info.height) == (result["metadata"]["width"], result["metadata"]["height"]) == (144, 256), info
    assert (info.frames, info.fps, info.duration_seconds) == (72, 24, 3.0), info
