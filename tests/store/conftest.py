from __future__ import annotations

import pytest

from tests.store.clock import MovableClock


@pytest.fixture
def clock() -> MovableClock:
    """What each store under test reads the time from (its `clock`)."""
    return MovableClock()
