"""The worker's states and the only moves between them (in the spirit of cog's WorkerState).

    LOADING --> IDLE <--> RUNNING --> DRAINING --> STOPPED
       |          |                                  ^
       +----------+----------------------------------+

RUNNING covers claiming as well as holding a job, so a shutdown that begins during a claim waits
for whatever the claim returns. DRAINING is a shutdown that found a job in hand: no more claims,
the job gets the grace period. STOPPED claims nothing and never changes again.
"""

from __future__ import annotations

import enum

from reelserve.errors import WorkerStateError


class WorkerState(enum.Enum):
    LOADING = "loading"  # loading the engine; claims nothing yet
    IDLE = "idle"  # ready, no job in hand
    RUNNING = "running"  # claiming, or a job in hand
    DRAINING = "draining"  # asked to stop with a job in hand: finishing it within the grace period
    STOPPED = "stopped"  # claims nothing more


TRANSITIONS: dict[WorkerState, frozenset[WorkerState]] = {
    WorkerState.LOADING: frozenset({WorkerState.IDLE, WorkerState.STOPPED}),
    WorkerState.IDLE: frozenset({WorkerState.RUNNING, WorkerState.STOPPED}),
    WorkerState.RUNNING: frozenset({WorkerState.IDLE, WorkerState.DRAINING}),
    WorkerState.DRAINING: frozenset({WorkerState.STOPPED}),
    WorkerState.STOPPED: frozenset(),
}


def check_transition(current: WorkerState, new: WorkerState) -> None:
    """Raise `WorkerStateError` unless the worker may go from `current` to `new`."""
    if new not in TRANSITIONS[current]:
        allowed = " or ".join(s.value for s, targets in TRANSITIONS.items() if new in targets)
        raise WorkerStateError(f"the worker cannot become {new.value}: it is {current.value} (must be {allowed})")
