"""HTTP layer: routes, wire models, and the one exception -> (status, error_code) table."""

from __future__ import annotations

from reelserve.api.app import create_app
from reelserve.api.deps import ApiConfig

__all__ = ["ApiConfig", "create_app"]
