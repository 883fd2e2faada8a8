"""The JobStore contract: one suite, run against every backend by subclassing with a `store` fixture."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reelserve.errors import LeaseLostError
from reelserve.store import JobStore, Status

BODY = {"prompt": "a cat", "duration": 5}


class StoreContract:
    @pytest.fixture
    def store(self) -> JobStore:  # pragma: no cover - each backend overrides
        raise NotImplementedError

    @pytest.fixture
    def owner(self, store: JobStore) -> str:
        key, _ = store.create_key("owner")
        return key.id

    # --- keys -------------------------------------------------------------------------------

    def test_key_authenticates_until_revoked(self, store: JobStore) -> None:
        key, plaintext = store.create_key("ci")
        assert store.authenticate(plaintext) == key
        assert store.authenticate(plaintext + "x") is None
        assert store.authenticate("not-a-key") is None
        assert store.revoke_key(key.id) is True
        assert store.authenticate(plaintext) is None
        assert store.revoke_key(key.id) is False

    def test_keys_are_stored_only_as_hashes(self, store: JobStore) -> None:
        _, plaintext = store.create_key("secret")
        assert all(plaintext not in repr(k) for k in store.list_keys())
        assert plaintext.encode() not in self.raw_dump(store)

    def raw_dump(self, store: JobStore) -> bytes:  # pragma: no cover - each backend overrides
        raise NotImplementedError

    # --- submit, get, position ---------------------------------------------------------------

    def test_submit_then_get_round_trips(self, store: JobStore, owner: str) -> None:
        job = store.submit(owner, "m", BODY)
        got = store.get(job.id, owner)
        assert got is not None
        assert (got.status, got.input, got.model_id, got.attempts) == (Status.IN_QUEUE, BODY, "m", 0)
        assert got.created_at == job.created_at or abs((got.created_at - job.created_at).total_seconds()) < 1e-3

    def test_other_owner_sees_nothing(self, store: JobStore, owner: str) -> None:
        other, _ = store.create_key("other")
        job = store.submit(owner, "m", BODY)
        assert store.get(job.id, other.id) is None
        assert store.cancel(job.id, other.id) is None
        assert store.get(job.id, owner).status is Status.IN_QUEUE

    def test_queue_position_counts_queued_jobs_ahead(self, store: JobStore, owner: str) -> None:
        jobs = [store.submit(owner, "m", BODY) for _ in range(4)]
        assert [store.queue_position(j) for j in jobs] == [0, 1, 2, 3]
        store.cancel(jobs[1].id, owner)
        store.claim("w", 30)  # takes jobs[0]
        assert store.queue_position(jobs[2]) == 0
        assert store.queue_position(jobs[3]) == 1

    # --- claim and cancel ---------------------------------------------------------------------

    def test_claim_takes_oldest_and_leases_it(self, store: JobStore, owner: str) -> None:
        first, second = store.submit(owner, "m", BODY), store.submit(owner, "m", BODY)
        claimed = store.claim("w1", 30)
        assert claimed.id == first.id
        assert (claimed.status, claimed.lease_owner, claimed.attempts) == (Status.IN_PROGRESS, "w1", 1)
        assert claimed.started_at is not None and claimed.lease_expires_at > claimed.started_at
        assert store.claim("w2", 30).id == second.id
        assert store.claim("w3", 30) is None

    def test_cancel_only_while_queued(self, store: JobStore, owner: str) -> None:
        queued, running = store.submit(owner, "m", BODY), store.submit(owner, "m", BODY)
        store.cancel(queued.id, owner)
        claimed = store.claim("w", 30)
        assert claimed.id == running.id  # a cancelled job is never claimed
        assert store.cancel(running.id, owner).status is Status.IN_PROGRESS
        assert store.get(queued.id, owner).status is Status.CANCELLED
        assert store.get(queued.id, owner).finished_at is not None

    def test_complete_and_fail_are_fenced_on_the_lease(self, store: JobStore, owner: str) -> None:
        job = store.submit(owner, "m", BODY)
        store.claim("w1", 30)
        with pytest.raises(LeaseLostError):
            store.complete(job.id, "w2", "k", {})
        store.set_progress(job.id, "w1", 42.0)
        assert store.get(job.id).progress == 42.0
        store.complete(job.id, "w1", "k", {"width": 1})
        done = store.get(job.id)
        assert (done.status, done.output_key, done.metadata, done.lease_owner) == (Status.COMPLETED, "k", {"width": 1}, None)
        with pytest.raises(LeaseLostError):
            store.fail(job.id, "w1", "x", "y", {})

    def test_fail_records_code_and_message(self, store: JobStore, owner: str) -> None:
        job = store.submit(owner, "m", BODY)
        store.claim("w", 30)
        store.fail(job.id, "w", "invalid_input", "no", {"seed": 1})
        failed = store.get(job.id)
        assert (failed.status, failed.error_code, failed.error_message) == (Status.FAILED, "invalid_input", "no")

    def test_workers_heartbeat(self, store: JobStore) -> None:
        store.heartbeat_worker("w1", {"state": "loading"})
        store.heartbeat_worker("w1", {"state": "ready"})
        (worker,) = store.live_workers(60)
        assert (worker.id, worker.engine) == ("w1", {"state": "ready"})

    # --- concurrency ----------------------------------------------------------------------------

    def test_concurrent_submits_claims_and_cancels(self, store: JobStore, owner: str) -> None:
        """200 submits from 8 threads; every third is cancelled at once, racing two claiming workers."""
        claimed: dict[str, list[str]] = {"w1": [], "w2": []}
        cancelled: list[str] = []
        submitting_done = threading.Event()

        def submit_one(i: int) -> str:
            job = store.submit(owner, "m", {**BODY, "i": i})
            if i % 3 == 0:
                now = store.cancel(job.id, owner)
                if now.status is Status.CANCELLED:
                    cancelled.append(job.id)
            return job.id

        def claimer(name: str) -> None:
            while True:
                job = store.claim(name, 30)
                if job is not None:
                    claimed[name].append(job.id)
                    time.sleep(0.001)  # let the other worker in, as a real one would be busy generating
                elif submitting_done.is_set():
                    return

        claimers = [threading.Thread(target=claimer, args=(name,)) for name in claimed]
        for thread in claimers:
            thread.start()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(submit_one, range(200)))
        submitting_done.set()
        for thread in claimers:
            thread.join(timeout=60)

        all_claimed = claimed["w1"] + claimed["w2"]
        statuses = {i: store.get(i).status for i in ids}
        assert len(set(ids)) == 200
        assert len(all_claimed) == len(set(all_claimed)), "a job was claimed twice"
        assert not set(all_claimed) & set(cancelled), "a job was both cancelled and run"
        assert set(all_claimed) | set(cancelled) == set(ids), "a job was lost"
        assert all(statuses[i] is Status.IN_PROGRESS for i in all_claimed)
        assert all(statuses[i] is Status.CANCELLED for i in cancelled)
        assert claimed["w1"] and claimed["w2"], "both workers should have won some claims"
        print(f"\n200 submits: {len(all_claimed)} claimed (w1 {len(claimed['w1'])}, w2 {len(claimed['w2'])}), "
              f"{len(cancelled)} cancelled before a claim, 0 lost, 0 claimed twice, 0 both cancelled and run")
