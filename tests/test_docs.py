"""The docs keep up with the code: every setting is documented, every linked doc exists, and the
webhook receiver works against a server started as its page says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reelserve.settings import Settings
from tests.live import live_server

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_configuration_table() -> None:
    table = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"`{name}`" not in table]
    assert not missing, f"add these to docs/configuration.md: {missing}"


def test_every_doc_the_readme_and_docs_link_to_exists() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(((?:docs/)?[\w.-]+\.md)\)", page.read_text()):
            base = ROOT if target.startswith("docs/") else page.parent
            assert (base / target).is_file(), f"{page.name} links to missing {target}"


def test_every_image_the_readme_and_docs_show_exists() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r'(?:\]\(|src=")((?:docs/)?[\w.-]+\.(?:png|jpg|svg))', page.read_text()):
            base = ROOT if target.startswith("docs/") else page.parent
            assert (base / target).is_file(), f"{page.name} shows missing {target}"


@pytest.mark.whole  # a real `reelserve serve`
def test_the_webhook_receiver_works_against_a_server_started_as_its_section_says(tmp_path, tiny_cache,
                                                                                monkeypatch) -> None:
    """docs/client.md's receiver listens on 127.0.0.1, which a default server refuses: the section must
    say, before the receiver, how to start the server, and a server started just so must deliver to it."""
    section = (ROOT / "docs" / "client.md").read_text().split("### Webhooks\n", 1)[1].split("\n#", 1)[0]
    before, receiver = section.split("```python\n", 1)
    # The last way the section starts the server before the receiver is the server the reader has: what
    # it sets, `make serve` passes on to `reelserve serve`. The setting at stake never comes from this shell.
    started = re.findall(r"`((?:REELSERVE_\w+=\S+ )*)make serve`", before)
    settings = dict(assignment.split("=", 1) for assignment in (started[-1] if started else "").split())
    monkeypatch.delenv("REELSERVE_WEBHOOK_ALLOW_PRIVATE", raising=False)
    with live_server(tmp_path / "data", tiny_cache,
                     **{name.removeprefix("REELSERVE_").lower(): value for name, value in settings.items()}) as live:
        env = {**os.environ, "REELSERVE_BASE_URL": live.base, "REELSERVE_API_KEY": live.key}
        ran = subprocess.run([sys.executable, "-c", receiver.split("```", 1)[0]], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=240)
    assert ran.returncode == 0, ran.stderr
    assert "request.started" in ran.stdout and "request.completed" in ran.stdout, ran.stdout
