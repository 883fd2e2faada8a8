"""Command-line options more than one command takes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (env REELSERVE_DATA_DIR).")]
Weights = Annotated[
    str | None,
    typer.Option("--weights", help="auto | tiny | hub id | local dir (env REELSERVE_WEIGHTS).", show_default=False),
]
