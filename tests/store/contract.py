"""The JobStore contract: one suite, run against every backend by subclassing with a `store` fixture."""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import REGISTRY

from reelserve.errors import IdempotencyKeyReusedError, LeaseLostError, TooManyRequestsError
from reelserve.store import JobStore, Reaped, Status, SubmitLimits
from reelserve.store.admission import IDEMPOTENCY_TTL
from tests.jobs import submit
from tests.store.clock import MovableClock

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

    def test_the_first_key_is_created_once_however_many_race_for_it(self, store: JobStore) -> None:
        barrier = threading.Barrier(8)

        def race(_: int):
            barrier.wait()
            return store.create_first_key("default")

        with ThreadPoolExecutor(8) as pool:
            created = [c for c in pool.map(race, range(8)) if c is not None]
        assert len(created) == 1 and [k.id for k in store.list_keys()] == [created[0][0].id]
        assert store.authenticate(created[0][1]) == created[0][0]
        assert store.create_first_key("again") is None

    def test_keys_are_stored_only_as_hashes(self, store: JobStore) -> None:
        _, plaintext = store.create_key("secret")
        assert all(plaintext not in repr(k) for k in store.list_keys())
        assert plaintext.encode() not in self.raw_dump(store)

    def raw_dump(self, store: JobStore) -> bytes:  # pragma: no cover - each backend overrides
        raise NotImplementedError

    # --- submit, get, position ---------------------------------------------------------------

    def test_submit_then_get_round_trips(self, store: JobStore, owner: str) -> None:
        job = submit(store, owner, "m", BODY)
        got = store.get(job.id, owner)
        assert got is not None
        assert (got.status, got.input, got.model_id, got.attempts) == (Status.IN_QUEUE, BODY, "m", 0)
        assert got.created_at == job.created_at or abs((got.created_at - job.created_at).total_seconds()) < 1e-3

    def test_other_owner_sees_nothing(self, store: JobStore, owner: str) -> None:
        other, _ = store.create_key("other")
        job = submit(store, owner, "m", BODY)
        assert store.get(job.id, other.id) is None
        assert store.cancel(job.id, other.id) is None
        assert store.get(job.id, owner).status is Status.IN_QUEUE

    def test_queue_position_counts_queued_jobs_ahead(self, store: JobStore, owner: str) -> None:
        jobs = [submit(store, owner, "m", BODY) for _ in range(4)]
        assert [store.get_with_position(j.id, owner)[1] for j in jobs] == [0, 1, 2, 3]
        store.cancel(jobs[1].id, owner)
        store.claim("w", 30)  # takes jobs[0]
        assert store.get_with_position(jobs[2].id, owner)[1] == 0
        assert store.get_with_position(jobs[3].id, owner)[1] == 1

    def test_a_status_poll_reads_the_job_and_its_position_at_once(self, store: JobStore, owner: str) -> None:
        other, _ = store.create_key("other")
        jobs = [submit(store, owner, "m", BODY) for _ in range(3)]
        assert [store.get_with_position(j.id, owner)[1] for j in jobs] == [0, 1, 2]
        claimed = store.claim("w", 30)
        job, position = store.get_with_position(claimed.id, owner)
        assert (job.id, job.status, position) == (jobs[0].id, Status.IN_PROGRESS, None)
        assert store.get_with_position(jobs[2].id, owner) == (store.get(jobs[2].id), 1)
        assert store.get_with_position(jobs[1].id, other.id) is None  # another key's job: as unknown as any
        assert store.get_with_position("00000000-0000-4000-8000-000000000000", owner) is None

    def test_history_is_the_owners_requests_newest_first_in_stable_pages(self, store: JobStore, owner: str) -> None:
        other, _ = store.create_key("other")
        mine = [submit(store, owner, "m", {"n": i}) for i in range(5)]
        submit(store, other.id, "m", BODY)
        first = store.history(owner, limit=2)
        assert [j.id for j in first.jobs] == [mine[4].id, mine[3].id] and first.next_before is not None
        submit(store, owner, "m", {"n": 99})  # a submit between pages shifts nothing
        second = store.history(owner, limit=2, before=first.next_before)
        assert [j.id for j in second.jobs] == [mine[2].id, mine[1].id]
        last = store.history(owner, limit=2, before=second.next_before)
        assert [j.id for j in last.jobs] == [mine[0].id] and last.next_before is None
        assert store.history(other.id, limit=10).jobs[0].owner == other.id

    def test_a_completed_job_keeps_its_poster_key(self, store: JobStore, owner: str) -> None:
        job = submit(store, owner, "m", BODY)
        store.claim("w", 30)
        store.complete(job.id, "w", f"{job.id}/1-a/video.mp4", {}, poster_key=f"{job.id}/1-a/poster.jpg")
        assert store.get(job.id).poster_key == f"{job.id}/1-a/poster.jpg"

    def test_active_counts_by_model_and_status(self, store: JobStore, owner: str) -> None:
        assert store.active_counts() == {}
        for model in ("a", "a", "a", "b"):
            submit(store, owner, model, BODY)
        store.claim("w", 30)  # the oldest "a"
        done = submit(store, owner, "b", BODY)
        store.cancel(done.id, owner)
        assert store.active_counts() == {("a", Status.IN_QUEUE): 2, ("a", Status.IN_PROGRESS): 1,
                                         ("b", Status.IN_QUEUE): 1}

    # --- claim and cancel ---------------------------------------------------------------------

    def test_claim_takes_oldest_and_leases_it(self, store: JobStore, owner: str) -> None:
        first, second = submit(store, owner, "m", BODY), submit(store, owner, "m", BODY)
        claimed = store.claim("w1", 30)
        assert claimed.id == first.id
        assert (claimed.status, claimed.lease_owner, claimed.attempts) == (Status.IN_PROGRESS, "w1", 1)
        assert claimed.started_at is not None and claimed.lease_expires_at > claimed.started_at
        assert store.claim("w2", 30).id == second.id
        assert store.claim("w3", 30) is None

    def test_cancel_only_while_queued(self, store: JobStore, owner: str) -> None:
        queued, running = submit(store, owner, "m", BODY), submit(store, owner, "m", BODY)
        store.cancel(queued.id, owner)
        claimed = store.claim("w", 30)
        assert claimed.id == running.id  # a cancelled job is never claimed
        assert store.cancel(running.id, owner).status is Status.IN_PROGRESS
        assert store.get(queued.id, owner).status is Status.CANCELLED
        assert store.get(queued.id, owner).finished_at is not None

    def test_complete_and_fail_are_fenced_on_the_lease(self, store: JobStore, owner: str) -> None:
        job = submit(store, owner, "m", BODY)
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
        job = submit(store, owner, "m", BODY)
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
            job = submit(store, owner, "m", {**BODY, "i": i})
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

    # --- leases, the reaper, shutdown release ---------------------------------------------------

    def test_a_lease_is_renewed_only_by_its_holder(self, store: JobStore, owner: str) -> None:
        job = submit(store, owner, "m", BODY)
        claimed = store.claim("w1", 1)
        assert store.renew_lease(job.id, "w1", 300) is True
        assert store.get(job.id).lease_expires_at > claimed.lease_expires_at
        assert store.renew_lease(job.id, "w2", 300) is False

    def test_expired_leases_go_back_to_the_queue_at_its_front(self, store: JobStore, owner: str,
                                                               clock: MovableClock) -> None:
        stalled, waiting = submit(store, owner, "m", BODY), submit(store, owner, "m", BODY)
        store.claim("w1", 30)
        clock.advance(31)
        assert store.reap_expired_leases() == Reaped(requeued=[stalled.id])
        back = store.get(stalled.id)
        assert (back.status, back.lease_owner, back.progress, back.attempts) == (Status.IN_QUEUE, None, None, 1)
        assert store.get_with_position(back.id, owner)[1] == 0 and store.get_with_position(waiting.id, owner)[1] == 1
        assert store.claim("w2", 30).id == stalled.id

    def test_a_live_lease_is_not_reaped(self, store: JobStore, owner: str) -> None:
        job = submit(store, owner, "m", BODY)
        store.claim("w1", 30)
        assert store.reap_expired_leases() == Reaped()
        assert store.get(job.id).lease_owner == "w1"

    def test_a_zombie_cannot_renew_or_complete_after_takeover(self, store: JobStore, owner: str,
                                                              clock: MovableClock) -> None:
        job = submit(store, owner, "m", BODY)
        store.claim("zombie", 30)
        clock.advance(31)
        store.reap_expired_leases()
        store.claim("w2", 30)
        assert store.renew_lease(job.id, "zombie", 30) is False
        with pytest.raises(LeaseLostError):
            store.complete(job.id, "zombie", "zombie/video.mp4", {})
        store.complete(job.id, "w2", "w2/video.mp4", {})
        assert store.get(job.id).output_key == "w2/video.mp4"

    def test_third_interruption_fails_the_job_as_interrupted(self, store: JobStore, owner: str,
                                                             clock: MovableClock) -> None:
        job = submit(store, owner, "m", BODY)
        for attempt in range(1, 4):
            assert store.claim(f"w{attempt}", 30).attempts == attempt
            clock.advance(31)
            reaped = store.reap_expired_leases(max_attempts=3)
        assert reaped == Reaped(interrupted=[job.id])
        failed = store.get(job.id)
        assert (failed.status, failed.error_code, failed.lease_owner) == (Status.FAILED, "interrupted", None)
        assert "interrupted 3 times" in failed.error_message and failed.finished_at is not None
        assert store.claim("w4", 30) is None

    def test_release_requeues_at_once_without_counting_the_attempt(self, store: JobStore, owner: str) -> None:
        job = submit(store, owner, "m", BODY)
        store.claim("w1", 300)
        assert store.release(job.id, "w2") is False
        assert store.release(job.id, "w1") is True
        back = store.get(job.id)
        assert (back.status, back.attempts, back.lease_owner, back.started_at) == (Status.IN_QUEUE, 0, None, None)
        assert store.claim("w2", 30).attempts == 1

    # --- outcomes -----------------------------------------------------------------------------------

    def test_each_ending_is_counted_once_by_the_call_that_commits_it(self, store: JobStore, owner: str,
                                                                     clock: MovableClock) -> None:
        model = f"counted-{secrets.token_hex(4)}"  # series of this test's own

        def finished(outcome: str, error_code: str = "") -> float:
            labels = {"model": model, "outcome": outcome, "error_code": error_code}
            return REGISTRY.get_sample_value("reelserve_jobs_finished_total", labels) or 0.0

        done, failed, cancelled, interrupted = (submit(store, owner, model, BODY) for _ in range(4))
        assert store.cancel(cancelled.id, owner).status is Status.CANCELLED
        store.cancel(cancelled.id, owner)  # no longer queued: nothing done, nothing counted
        assert store.claim("w", 30).id == done.id
        with pytest.raises(LeaseLostError):
            store.complete(done.id, "zombie", "k", {})
        store.complete(done.id, "w", "k", {})
        store.cancel(done.id, owner)
        assert store.claim("w", 30).id == failed.id
        store.fail(failed.id, "w", "invalid_input", "odd", {})
        with pytest.raises(LeaseLostError):
            store.fail(failed.id, "w", "invalid_input", "odd again", {})
        for attempt in range(3):
            assert store.claim(f"r{attempt}", 30).id == interrupted.id
            clock.advance(31)
            store.reap_expired_leases(max_attempts=3)
        seen = {"completed": finished("completed"), "failed": finished("failed", "invalid_input"),
                "cancelled": finished("cancelled"), "interrupted": finished("interrupted", "interrupted")}
        assert seen == {"completed": 1, "failed": 1, "cancelled": 1, "interrupted": 1}, seen

    # --- idempotency ------------------------------------------------------------------------------

    def test_idempotency_key_replays_the_same_job(self, store: JobStore, owner: str) -> None:
        first, replayed = store.submit_request(owner, "m", BODY, idempotency_key="k1")
        again, replayed_again = store.submit_request(owner, "m", dict(reversed(BODY.items())), idempotency_key="k1")
        assert (replayed, replayed_again, again.id) == (False, True, first.id)
        other_key = submit(store, owner, "m", BODY, idempotency_key="k2")
        assert other_key.id != first.id

    def test_idempotency_key_with_another_body_is_rejected(self, store: JobStore, owner: str) -> None:
        first = submit(store, owner, "m", BODY, idempotency_key="k1")
        with pytest.raises(IdempotencyKeyReusedError) as caught:
            submit(store, owner, "m", {**BODY, "duration": 6}, idempotency_key="k1")
        assert first.id in caught.value.detail[0]["msg"]
        with pytest.raises(IdempotencyKeyReusedError):
            submit(store, owner, "other-model", BODY, idempotency_key="k1")

    def test_idempotency_keys_are_scoped_per_api_key(self, store: JobStore, owner: str) -> None:
        other, _ = store.create_key("other")
        mine = submit(store, owner, "m", BODY, idempotency_key="shared")
        theirs, replayed = store.submit_request(other.id, "m", {**BODY, "duration": 9}, idempotency_key="shared")
        assert theirs.id != mine.id and replayed is False

    def test_idempotency_keys_lapse_after_their_ttl(self, store: JobStore, owner: str, clock: MovableClock) -> None:
        first = submit(store, owner, "m", BODY, idempotency_key="k1")
        clock.advance(IDEMPOTENCY_TTL.total_seconds() - 60)
        again, replayed = store.submit_request(owner, "m", BODY, idempotency_key="k1")
        assert (again.id, replayed) == (first.id, True), "a key replays its job until its TTL is over"
        clock.advance(61)
        later, replayed = store.submit_request(owner, "m", {**BODY, "duration": 6}, idempotency_key="k1")
        assert later.id != first.id and replayed is False

    def test_concurrent_duplicates_make_exactly_one_job(self, store: JobStore, owner: str) -> None:
        barrier = threading.Barrier(16)

        def submit_duplicate(_: int) -> tuple[str, bool]:
            barrier.wait()
            job, replayed = store.submit_request(owner, "m", BODY, idempotency_key="retry-storm")
            return job.id, replayed

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(submit_duplicate, range(16)))
        assert len({job_id for job_id, _ in results}) == 1
        assert [replayed for _, replayed in results].count(False) == 1
        assert store.claim("w", 30) is not None and store.claim("w", 30) is None
        print("\n16 concurrent submits with one Idempotency-Key: 1 job, 15 replays")

    # --- limits -----------------------------------------------------------------------------------

    def test_active_limit_counts_queued_and_running(self, store: JobStore, owner: str) -> None:
        limits = SubmitLimits(max_active=2)
        first = submit(store, owner, "m", BODY, limits=limits)
        submit(store, owner, "m", BODY, limits=limits)
        store.claim("w", 30)
        with pytest.raises(TooManyRequestsError) as caught:
            submit(store, owner, "m", BODY, limits=limits)
        assert caught.value.retry_after >= 1 and "2 requests queued or running" in caught.value.message
        store.complete(first.id, "w", "k", {})
        submit(store, owner, "m", BODY, limits=limits)
        other, _ = store.create_key("other")
        submit(store, other.id, "m", BODY, limits=limits)  # another key has its own allowance

    def test_rate_limit_names_when_to_retry(self, store: JobStore, owner: str, clock: MovableClock) -> None:
        limits = SubmitLimits(per_minute=3)
        for _ in range(3):
            store.cancel(submit(store, owner, "m", BODY, limits=limits).id, owner)  # cancelled submits still count
        with pytest.raises(TooManyRequestsError) as caught:
            submit(store, owner, "m", BODY, limits=limits)
        assert 55 <= caught.value.retry_after <= 60
        clock.advance(caught.value.retry_after)  # the retry it named is allowed
        submit(store, owner, "m", BODY, limits=limits)

    def test_concurrent_submits_cannot_overshoot_the_active_limit(self, store: JobStore, owner: str) -> None:
        limits = SubmitLimits(max_active=5)
        barrier = threading.Barrier(12)

        def submit_racing(i: int) -> bool:
            barrier.wait()
            try:
                submit(store, owner, "m", {**BODY, "i": i}, limits=limits)
                return True
            except TooManyRequestsError:
                return False

        with ThreadPoolExecutor(12) as pool:
            assert sum(pool.map(submit_racing, range(12))) == 5

    def test_an_idempotent_replay_is_not_limited(self, store: JobStore, owner: str) -> None:
        limits = SubmitLimits(max_active=1)
        first = submit(store, owner, "m", BODY, idempotency_key="k", limits=limits)
        assert submit(store, owner, "m", BODY, idempotency_key="k", limits=limits).id == first.id

    # --- retention --------------------------------------------------------------------------------

    def test_expired_jobs_are_forgotten_but_remembered_as_expired(self, store: JobStore, owner: str,
                                                                   clock: MovableClock) -> None:
        done, queued = submit(store, owner, "m", BODY, idempotency_key="k"), submit(store, owner, "m", BODY)
        store.claim("w", 30)
        store.complete(done.id, "w", "key", {})
        assert [j.id for j in store.finished_before(3600)] == []
        clock.advance(3601)
        assert [j.id for j in store.finished_before(3600)] == [done.id]  # a queued job never expires
        store.expire([done.id])
        assert store.get(done.id) is None and store.finished_before(3600) == []
        other, _ = store.create_key("other")
        assert store.was_expired(done.id, owner) and not store.was_expired(done.id, other.id)
        assert not store.was_expired(queued.id, owner)
        # the key's record went with its job: reusing the key makes a new job
        assert submit(store, owner, "m", BODY, idempotency_key="k").id != done.id

    # --- the cancel race ------------------------------------------------------------------------

    def test_a_thousand_cancels_racing_claims(self, store: JobStore, owner: str) -> None:
        """1,000 queued jobs; 4 threads cancel all of them while 2 workers claim: none both cancelled and run."""
        ids = [submit(store, owner, "m", {**BODY, "i": i}).id for i in range(1000)]
        claimed: list[str] = []
        outcomes: dict[str, Status] = {}
        go = threading.Barrier(6)
        cancelling_done = threading.Event()

        def claimer(name: str) -> None:
            go.wait()
            while (job := store.claim(name, 30)) is not None or not cancelling_done.is_set():
                if job is not None:
                    claimed.append(job.id)

        def canceller(chunk: list[str]) -> None:
            go.wait()
            for job_id in chunk:
                outcomes[job_id] = store.cancel(job_id, owner).status

        threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(2)]
        threads += [threading.Thread(target=canceller, args=(ids[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads[2:]:
            thread.join(timeout=120)
        cancelling_done.set()
        for thread in threads[:2]:
            thread.join(timeout=120)
        cancelled = {i for i, status in outcomes.items() if status is Status.CANCELLED}
        assert len(claimed) == len(set(claimed)), "a job was claimed twice"
        assert not cancelled & set(claimed), "a job was both cancelled and run"
        assert cancelled | set(claimed) == set(ids), "a job was lost"
        assert all(store.get(i).status is Status.CANCELLED for i in cancelled)
        print(f"\n1,000 cancels racing 2 claimers: {len(cancelled)} cancelled, {len(claimed)} claimed, "
              "0 both, 0 lost, 0 claimed twice")

    # --- waking idle workers ------------------------------------------------------------------

    def open_again(self, store: JobStore) -> JobStore:  # pragma: no cover - each backend overrides
        """A second store object on the same queue, as `reelserve serve`'s API and worker each hold one."""
        raise NotImplementedError

    def test_a_commit_wakes_this_processs_subscribers_directly_and_once(self, store: JobStore, owner: str) -> None:
        api_side = self.open_again(store)
        calls: list[str] = []
        unsubscribe = store.subscribe(lambda: calls.append(threading.current_thread().name))
        try:
            time.sleep(0.2)  # PostgreSQL's listener connects, and wakes once on connecting
            calls.clear()
            submitter = threading.Thread(target=submit, args=(api_side, owner, "m", BODY), name="submitter")
            submitter.start()
            submitter.join()
            # Called by the committing thread before the submit returned: no listener thread, no socket.
            assert calls == ["submitter"]
            time.sleep(0.7)  # longer than a listener's receive timeout
            assert calls == ["submitter"], "this process's own push woke the subscriber a second time"
        finally:
            unsubscribe()
            api_side.close()

    def test_a_submit_wakes_a_subscriber_after_it_commits(self, store: JobStore, owner: str) -> None:
        woken = threading.Event()
        seen: list[bool] = []

        def on_new_job() -> None:
            seen.append(store.claim("w", 30) is not None)  # the job is there when the wake arrives
            woken.set()

        unsubscribe = store.subscribe(on_new_job)
        try:
            time.sleep(0.2)  # PostgreSQL's listener connects, and wakes once on connecting
            woken.clear()
            seen.clear()
            submit(store, owner, "m", BODY)
            assert woken.wait(5), "the submit woke no subscriber"
            assert seen and seen[0] is True
        finally:
            unsubscribe()
