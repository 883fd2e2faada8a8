"""reelserve: a self-hosted, RunComfy-compatible text-to-video queue API, and its Python client."""

from __future__ import annotations

from reelserve.client import AsyncClient, Client

__all__ = ["AsyncClient", "Client"]
