"""What the worker tests share: a store, a storage and an API key of the settings' kind."""

from __future__ import annotations

import pytest

from reelserve.cli.compose import storage_for, store_for


@pytest.fixture
def parts(settings):
    store, storage = store_for(settings), storage_for(settings)
    key, _ = store.create_key("k")
    return store, storage, key.id
