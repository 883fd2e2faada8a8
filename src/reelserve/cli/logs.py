"""The one log format of every reelserve process: the server, its worker child, and `reelserve worker`."""

from __future__ import annotations

import logging
import os
import sys


def setup_logging() -> None:
    """One plain format with a timestamp for every line, ours and uvicorn's (it gets log_config=None)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "diffusers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not sys.stderr.isatty():
        # Progress bars redraw with carriage returns and escape codes: noise in a log file. The Hub,
        # transformers and (engines/ltx2/engine.py) diffusers read this when they are imported, later.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
