"""`python -m reelserve.cli`: the same as the `reelserve` command."""

from __future__ import annotations

from reelserve.cli import main

# Guarded: `serve` starts its worker with multiprocessing's spawn, which imports this module again.
if __name__ == "__main__":
    main()
