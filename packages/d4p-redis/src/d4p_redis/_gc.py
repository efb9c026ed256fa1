"""Finding and removing stale runs on a Redis server by hand.

A run's keys expire by themselves one lease after its driver died; ``gc``
is for the rest: runs of a d4p-redis without leases (their keys never
expire), what is left of a run without its description, and runs an
operator wants gone now rather than when their lease runs out.

A run is *live* while its driver renews its lease: the ``lease`` key holds
the lease in ms and is renewed at least every third of it, so its remaining
lifetime stays above two thirds of the lease; below one third, its driver
has missed renewals for longer than the lease's other two thirds.
Anything else is *stale*.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from ._keys import RunKeys, delete_run, run_ids
from ._lease import RENEWALS_PER_LEASE

__all__ = ["RunState", "collect", "survey"]


@dataclass(frozen=True)
class RunState:
    """One run found on the server."""

    run_id: str
    keys: int
    live: bool
    detail: str

    def line(self) -> str:
        state = "live" if self.live else "stale"
        return f"{self.run_id}\t{state}\t{self.keys} keys\t{self.detail}"


def _state(client: redis.Redis, run_id: str, count: int) -> RunState:
    keys = RunKeys(run_id)
    raw: Any = client.get(keys.lease)
    lease_ms = int(raw) if raw is not None and raw.isdigit() else 0
    remaining = int(client.pttl(keys.lease)) if lease_ms else -2
    if remaining < 0:
        if int(client.pttl(keys.spec)) == -1:
            detail = "no lease: its keys never expire (a run of a d4p-redis without leases)"
        elif client.exists(keys.spec):
            detail = "no lease key: its keys expire with the run description"
        else:
            detail = "no lease and no run description: left over"
        return RunState(run_id, count, False, detail)
    since = max(0, lease_ms - remaining) / 1000
    if remaining * RENEWALS_PER_LEASE >= lease_ms:
        return RunState(run_id, count, True, f"lease renewed {since:.0f} s ago")
    return RunState(
        run_id,
        count,
        False,
        f"lease not renewed for {since:.0f} s (its driver is gone?): "
        f"expires in {remaining / 1000:.0f} s",
    )


def survey(client: redis.Redis) -> list[RunState]:
    """Every run that has keys on this server, by run id."""
    return [_state(client, run_id, count) for run_id, count in sorted(run_ids(client).items())]


def collect(
    client: redis.Redis, runs: Iterable[str] = (), *, force: bool = False
) -> list[tuple[RunState, int]]:
    """Delete the stale runs (only those named in ``runs``, if any; a live
    one too with ``force``); returns each run deleted with its key count."""
    wanted = set(runs)
    deleted = []
    for state in survey(client):
        if wanted and state.run_id not in wanted:
            continue
        if state.live and not force:
            continue
        deleted.append((state, delete_run(client, state.run_id)))
    return deleted
