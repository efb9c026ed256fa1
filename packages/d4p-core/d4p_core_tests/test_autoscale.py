"""The default autoscaling policy, driven by synthetic snapshots."""

from __future__ import annotations

from d4p_core.mappings.dynamic.autoscale import BacklogPolicy, ScalingSnapshot


def _feed(
    policy: BacklogPolicy,
    start: float,
    seconds: float,
    active: int,
    in_flight: int,
    rate: float,
    completed: float,
    max_workers: int = 4,
) -> tuple[int, float, float, list[tuple[float, int, str]]]:
    """Feed snapshots every interval; apply the decisions like the coordinator."""
    changes: list[tuple[float, int, str]] = []
    time = start
    while time < start + seconds:
        snapshot = ScalingSnapshot(time, in_flight, active, int(completed), 1, max_workers)
        wanted, reason = policy.decide(snapshot)
        if wanted != active:
            changes.append((round(time, 2), wanted, reason))
            active = wanted
        time += policy.interval
        completed += rate * policy.interval
    return active, time, completed, changes


def test_initial_size_is_half_the_pool() -> None:
    assert BacklogPolicy().initial(1, 4) == 2
    assert BacklogPolicy().initial(3, 4) == 3
    assert BacklogPolicy().initial(1, 1) == 1


def test_grows_on_a_growing_backlog_and_keeps_a_worker_that_helps() -> None:
    policy = BacklogPolicy()
    active, time, done, changes = _feed(policy, 0, 1.5, 2, 60, rate=100, completed=0)
    assert [c[1] for c in changes] == [3]
    assert "backlog" in changes[0][2]
    # With 3 workers the throughput rises by 40%: the worker stays.
    active, time, done, changes = _feed(policy, time, 1.2, active, 60, rate=140, completed=done)
    assert active >= 3  # the third worker was kept
    assert all("no gain" not in c[2] for c in changes)


def test_reverts_a_worker_that_brings_nothing_and_holds_the_ceiling() -> None:
    policy = BacklogPolicy(hold=5.0)
    active, time, done, _ = _feed(policy, 0, 1.5, 2, 60, rate=100, completed=0)
    assert active == 3
    active, time, done, changes = _feed(policy, time, 1.5, active, 60, rate=101, completed=done)
    assert active == 2
    assert "no gain" in changes[-1][2]
    # The backlog is still there, but the ceiling holds for `hold` seconds.
    active, time, done, changes = _feed(policy, time, 4.0, active, 60, rate=100, completed=done)
    assert changes == []
    assert active == 2


def test_shrinks_when_workers_stay_idle() -> None:
    policy = BacklogPolicy()
    active, _, _, changes = _feed(policy, 0, 3.5, 3, 1, rate=10, completed=0)
    assert active < 3
    assert all("in flight" in c[2] for c in changes)


def test_never_leaves_the_bounds() -> None:
    policy = BacklogPolicy()
    active, _, _, _ = _feed(policy, 0, 10, 1, 0, rate=0, completed=0)
    assert active == 1
    policy = BacklogPolicy(min_gain=0.0)
    active, _, _, _ = _feed(policy, 0, 20, 2, 500, rate=100, completed=0, max_workers=4)
    assert active <= 4
