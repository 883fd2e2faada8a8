"""`python -m reelserve.cli`: the same as the `reelserve` command."""

from __future__ import annotations

from reelserve.cli import main

main()
