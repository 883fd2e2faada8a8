"""Command-line options more than one command takes, and how their help names a setting's default."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reelserve.settings import Settings


def setting_help(text: str, name: str) -> str:
    """`text (default D; env REELSERVE_NAME).`: the option's default is None so that the environment
    can still set it, and so click cannot show the real default itself."""
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    if isinstance(default, Path) and not default.is_absolute():
        default = f"./{default}"
    return f"{text} (default {default}; env REELSERVE_{name.upper()})."


DataDir = Annotated[Path | None, typer.Option("--data-dir", show_default=False,
                                              help=setting_help("Data directory", "data_dir"))]
Weights = Annotated[
    str | None,
    typer.Option("--weights", show_default=False, help=setting_help(
        "auto (the family's real checkpoint on CUDA, tiny test weights on CPU) | tiny | random-full "
        "(the full-size architecture with random weights, for GPU timing) | a hub id | a local dir", "weights")),
]
Family = Annotated[
    str | None,
    typer.Option("--family", show_default=False, help=setting_help(
        "The LTX model family: ltx-2.5 | ltx-2.3 | ltx-2 (legacy)", "model_family")),
]
