"""Workers die, stall and get stopped mid-job: nothing accepted is lost, and no request gets two results.

Each test runs real worker processes (tests/reliability/harness.py) on one SQLite queue and prints
its figures. Leases are 1 s here so that recovery takes seconds; production's default is 60 s.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter

from reelserve.store import Status
from tests.polling import wait_for
from tests.reliability.conftest import LOADED_LEASE_SECONDS, Fleet


def test_sigkilled_workers_lose_nothing_and_commit_each_result_once(fleet: Fleet) -> None:
    rng = random.Random(5)
    ids = fleet.submit(["work"] * 120)
    fleet.start(3)
    kills, started = 0, time.monotonic()
    next_kill = started + 1.0

    def chaos() -> None:
        nonlocal kills, next_kill
        if time.monotonic() < next_kill or kills >= 12:
            return
        victim = rng.choice(fleet.live())
        victim.kill()  # SIGKILL: no shutdown code runs, the lease simply stops being renewed
        victim.wait()
        kills += 1
        fleet.start(1)
        next_kill = time.monotonic() + rng.uniform(0.4, 1.2)

    jobs = fleet.wait_finished(ids, timeout=180, tick=chaos)
    elapsed = time.monotonic() - started

    commits = Counter(e["job"] for e in fleet.events("committed"))
    runs = Counter(e["seed"] for e in fleet.events("run"))
    statuses = Counter(job.status.value for job in jobs.values())
    assert len(jobs) == 120 and all(job is not None for job in jobs.values()), "a request was lost"
    assert all(count == 1 for count in commits.values()), "a request got two committed results"
    completed = [job for job in jobs.values() if job.status is Status.COMPLETED]
    assert {job.id for job in completed} == set(commits), "a completed request has no commit, or vice versa"
    assert all(job.error_code == "interrupted" for job in jobs.values() if job.status is Status.FAILED)
    assert all((fleet.data_dir / "media" / job.output_key).is_file() for job in completed)
    assert kills >= 5
    rerun = sum(1 for n in runs.values() if n > 1)
    print(f"\ncrash: 120 requests, 3 workers, {kills} SIGKILLs in {elapsed:.1f} s: "
          f"{statuses['completed']} completed, {statuses['failed']} failed/interrupted, 0 lost, "
          f"0 committed twice; {rerun} ran more than once, {len(fleet.events('rejected'))} late results rejected")


def test_a_zombie_frozen_at_commit_has_its_late_completion_rejected(fleet: Fleet) -> None:
    (job_id,) = fleet.submit(["freeze-at-commit"])
    (zombie,) = fleet.start(1)
    wait_for(lambda: fleet.events("freezing"))  # video uploaded, about to commit
    fleet.freeze(zombie)
    frozen = time.monotonic()
    fleet.start(1)
    winner = fleet.wait_finished([job_id], timeout=60)[job_id]
    assert winner.status is Status.COMPLETED and winner.attempts == 2
    zombie.send_signal(signal.SIGCONT)
    (fleet.data_dir / f"commit-{zombie.pid}").touch()  # let it go on to its completion write
    wait_for(lambda: fleet.events("rejected"))
    (rejected,) = fleet.events("rejected")
    after = fleet.store.get(job_id)
    print(f"\nzombie at commit: frozen {time.monotonic() - frozen:.1f} s past a 1 s lease; another worker completed "
          "the request; the resumed zombie's completion was rejected and its upload deleted")
    assert rejected["pid"] == zombie.pid and len(fleet.events("committed")) == 1
    assert (after.output_key, after.metadata, after.finished_at) == (winner.output_key, winner.metadata,
                                                                     winner.finished_at)
    assert (fleet.data_dir / "media" / winner.output_key).is_file()
    wait_for(lambda: not (fleet.data_dir / "media" / rejected["key"]).exists())


def test_a_zombie_frozen_mid_generation_stops_on_resuming(fleet: Fleet) -> None:
    (job_id,) = fleet.submit(["sleep:3"])
    (zombie,) = fleet.start(1)
    wait_for(lambda: fleet.store.get(job_id).status is Status.IN_PROGRESS)
    fleet.freeze(zombie)  # no heartbeats, no lease renewals
    fleet.start(1)
    winner = fleet.wait_finished([job_id], timeout=60)[job_id]
    zombie.send_signal(signal.SIGCONT)
    wait_for(lambda: fleet.events("lease_lost"))
    time.sleep(0.5)  # the zombie's engine would have gone on for 2 more seconds
    print("\nzombie mid-generation: on resuming, it found its lease gone (heartbeat or progress write) and stopped")
    assert {e["pid"] for e in fleet.events("lease_lost")} == {zombie.pid}
    assert [e["pid"] for e in fleet.events("committed")] != [zombie.pid] and len(fleet.events("committed")) == 1
    assert fleet.store.get(job_id).output_key == winner.output_key


def test_a_poison_request_fails_as_interrupted_while_others_flow(fleet: Fleet) -> None:
    fleet.lease = LOADED_LEASE_SECONDS  # a renewal must not miss on a loaded machine, or a "work" run is lost too
    ids = fleet.submit(["work"] * 5 + ["poison"] + ["work"] * 14)
    poison = ids[5]
    fleet.start(2)
    restarts = 0

    def replace_dead() -> None:
        nonlocal restarts
        for proc in fleet.procs:
            if proc.poll() is not None and not getattr(proc, "replaced", False):
                proc.replaced = True
                restarts += 1
                fleet.start(1)

    # Three deaths, each waited out for a lease and a worker restart, beside 19 short requests.
    jobs = fleet.wait_finished(ids, timeout=3 * (LOADED_LEASE_SECONDS + 30) + 60, tick=replace_dead)
    failed = jobs[poison]
    runs = Counter(e["prompt"] for e in fleet.events("run"))
    others = Counter(f"{job.status.value}/{job.error_code}" if job.error_code else job.status.value
                     for job in jobs.values() if job.id != poison)
    print(f"\npoison: killed its worker {runs['poison']} times, then {failed.status.value}/{failed.error_code}; "
          f"the other {len(ids) - 1}: {dict(others)} ({restarts} worker restarts)")
    assert (failed.status, failed.error_code, failed.attempts) == (Status.FAILED, "interrupted", 3), failed
    assert "interrupted 3 times" in failed.error_message, failed.error_message
    assert runs["poison"] == 3, f"the poison request ran {runs['poison']} times"
    assert all(jobs[i].status is Status.COMPLETED for i in ids if i != poison), (
        f"the other requests ended {dict(others)}; attempts {[jobs[i].attempts for i in ids if i != poison]}")


def test_a_crash_mid_publish_requeues_both_jobs_in_hand(fleet: Fleet) -> None:
    """The worker generates the next request while it publishes the last one: a crash while publishing
    takes both, and both run again elsewhere, each committed once, as a crash of one job always did."""
    publishing, generating = fleet.submit(["crash-in-publish", "sleep:1"])
    (victim,) = fleet.start(1)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    (crash,) = fleet.events("crashing")
    assert crash["job"] == publishing
    assert [e["prompt"] for e in fleet.events("run")] == ["crash-in-publish", "sleep:1"]  # both were in hand
    assert not fleet.events("committed")
    fleet.start(1)
    jobs = fleet.wait_finished([publishing, generating], timeout=60)
    print("\ncrash mid-publish: the request being published and the one generating beside it both went back to "
          "the queue when the lease ran out, and completed on the next worker")
    assert all(job.status is Status.COMPLETED and job.attempts == 2 for job in jobs.values())
    assert Counter(e["job"] for e in fleet.events("committed")) == {publishing: 1, generating: 1}


def test_a_busy_worker_still_requeues_a_dead_workers_request_within_a_lease(fleet: Fleet) -> None:
    """Housekeeping runs on its own clock: a worker 20 s into a request still reaps. It once reaped only
    between claims, so a crashed worker's request waited for the busy one to finish."""
    ids = fleet.submit(["sleep:20", "sleep:20"])
    first, second = fleet.start(2)
    deadline = time.monotonic() + 30
    while not all(job.status is Status.IN_PROGRESS for job in fleet.jobs(ids).values()):
        assert time.monotonic() < deadline, f"both requests never ran at once: {fleet.jobs(ids)}"
        time.sleep(0.05)
    victim_job = next(job for job in fleet.jobs(ids).values() if f":{first.pid}:" in (job.lease_owner or ""))
    first.kill()
    first.wait()
    killed = time.monotonic()
    while (job := fleet.store.get(victim_job.id)).status is not Status.IN_QUEUE:
        waited = time.monotonic() - killed
        assert waited < fleet.lease + 5, f"still {job.status.value} {waited:.1f} s after its worker died: {job}"
        time.sleep(0.05)
    print(f"requeued {time.monotonic() - killed:.2f} s after the SIGKILL (lease {fleet.lease} s)")
    assert fleet.store.get(next(i for i in ids if i != victim_job.id)).status is Status.IN_PROGRESS
    fleet.stop_all()
