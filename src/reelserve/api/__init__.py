"""HTTP layer: routes, wire models, and the one exception -> (status, error_code) table."""

from __future__ import annotations

from reelserve.api.app import create_app

__all__ = ["create_app"]
