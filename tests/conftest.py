from __future__ import annotations

from pathlib import Path

import pytest

from reelserve.settings import Settings


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny LTX-2 checkpoint per test session, built through the real save/load path."""
    from reelserve.engines.ltx2_tiny import ensure_tiny_weights

    cache = tmp_path_factory.mktemp("cache")
    ensure_tiny_weights(cache)
    return cache


@pytest.fixture
def settings(tmp_path: Path, tiny_cache: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", weights="tiny", device="cpu", cache_dir=tiny_cache,
                    port=8000, signing_secret="test-secret", worker_poll_seconds=0.05)


@pytest.fixture(scope="session")
def tiny_engine(tiny_cache: Path):
    from reelserve.engines.ltx2 import Ltx2Engine

    return Ltx2Engine.load("tiny", device="cpu", cache_dir=tiny_cache, checkpoint="Lightricks/LTX-2")
