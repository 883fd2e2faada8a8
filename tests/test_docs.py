"""The docs keep up with the code: every setting is documented, every linked doc exists."""

from __future__ import annotations

import re
from pathlib import Path

from reelserve.settings import Settings

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
