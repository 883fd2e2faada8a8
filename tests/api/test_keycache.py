"""A key lookup is reused for a second, never longer: revocation still takes effect within it."""

from __future__ import annotations

from reelserve.api.keycache import KeyCache
from reelserve.cli.compose import store_for
from reelserve.store import JobStore
from tests.api.conftest import Api


class CountingStore:
    """A real store that counts key lookups."""

    def __init__(self, store: JobStore) -> None:
        self.store, self.lookups = store, 0

    def authenticate(self, plaintext: str):
        self.lookups += 1
        return self.store.authenticate(plaintext)


def test_lookups_are_reused_for_the_ttl_and_a_revocation_lands_within_it(settings) -> None:
    store = store_for(settings)
    key, plaintext = store.create_key("k")
    now = [100.0]
    counting = CountingStore(store)
    cache = KeyCache(counting, ttl_seconds=1.0, clock=lambda: now[0])  # type: ignore[arg-type]
    assert cache.authenticate(plaintext).id == key.id
    now[0] += 0.5
    assert cache.authenticate(plaintext).id == key.id and counting.lookups == 1
    store.revoke_key(key.id)
    now[0] += 0.51  # just past a second since the lookup
    assert cache.authenticate(plaintext) is None and counting.lookups == 2
    assert cache.authenticate("rs_unknown") is None and cache.authenticate("rs_unknown") is None
    assert counting.lookups == 3  # an unknown key is remembered too: a flood of bad keys costs one lookup a second


def test_through_the_api_a_revoked_key_is_refused_within_a_second(api: Api) -> None:
    import time

    assert api.client.get("/v1/requests", headers=api.headers).status_code == 200
    api.store.revoke_key(api.key_id)
    deadline = time.monotonic() + 1.5
    while api.client.get("/v1/requests", headers=api.headers).status_code == 200:
        assert time.monotonic() < deadline, "a revoked key still worked after a second"
        time.sleep(0.05)
