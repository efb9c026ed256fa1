"""The default autoscaling policy, driven by synthetic snapshots (no
processes, no clock: time is the snapshots' field)."""

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
    idle_cores: float | None = None,
    task_cpu: float | None = None,
) -> tuple[int, float, float, list[tuple[float, int, str]]]:
    """Feed snapshots every interval; apply the decisions like the coordinator.
    ``idle_cores``: the machine's idle processors since time 0 (None: unknown);
    ``task_cpu``: the share of a core tasks use (None: unknown)."""
    changes: list[tuple[float, int, str]] = []
    time = start
    while time < start + seconds:
        idle = None if idle_cores is None else idle_cores * time
        task_seconds = None if task_cpu is None else time  # as if one worker ran tasks
        snapshot = ScalingSnapshot(
            time,
            in_flight,
            active,
            int(completed),
            1,
            max_workers,
            idle,
            task_seconds,
            None if task_cpu is None or task_seconds is None else task_cpu * task_seconds,
        )
        wanted, reason = policy.decide(snapshot)
        if wanted != active:
            changes.append((round(time, 2), wanted, reason))
            active = wanted
        time += policy.interval
        completed += rate * policy.interval
    return active, time, completed, changes


def test_starts_with_the_fewest_workers() -> None:
    assert BacklogPolicy().initial(1, 4) == 1
    assert BacklogPolicy().initial(3, 4) == 3
    assert BacklogPolicy().initial(1, 1) == 1


def test_a_backlog_grows_the_pool_to_the_cores_in_one_step_without_warm_up() -> None:
    policy = BacklogPolicy(cores=3)
    _, _, _, changes = _feed(policy, 0, 0.35, 1, 60, rate=100, completed=0)
    assert [c[1] for c in changes] == [3]
    assert changes[0][0] <= policy.grow_after + 2 * policy.interval
    assert "backlog" in changes[0][2]


def test_a_single_spike_of_backlog_grows_nothing() -> None:
    policy = BacklogPolicy(cores=4, grow_after=0.2)
    snapshot = ScalingSnapshot(0.0, 60, 1, 0, 1, 4)
    assert policy.decide(snapshot) == (1, "")
    assert policy.decide(ScalingSnapshot(0.1, 0, 1, 10, 1, 4)) == (1, "")
    assert policy.decide(ScalingSnapshot(0.2, 60, 1, 20, 1, 4)) == (1, "")


def test_beyond_the_cores_a_worker_that_helps_is_kept() -> None:
    policy = BacklogPolicy(cores=2)
    active, time, done, changes = _feed(policy, 0, 0.95, 1, 60, rate=100, completed=0)
    assert [c[1] for c in changes] == [2, 3]
    assert "probing" in changes[-1][2]
    # With 3 workers the throughput rises by 40%: the worker stays.
    active, time, done, changes = _feed(policy, time, 1.2, active, 60, rate=140, completed=done)
    assert active >= 3
    assert all(c[1] >= 3 for c in changes)  # a later probe of a 4th may be reverted


def test_no_probe_beyond_the_cores_while_the_cores_are_busy() -> None:
    # CPU-bound work keeps both cores busy: a third process could only take
    # turns with the two, so it is never started (nor its cost paid).
    policy = BacklogPolicy(cores=2)
    active, _, _, changes = _feed(policy, 0, 3.0, 1, 60, rate=100, completed=0, idle_cores=0.1)
    assert active == 2
    assert [c[1] for c in changes] == [2]


def test_idle_cores_allow_the_probe_and_its_reason_says_so() -> None:
    # Tasks that wait (I/O) leave the cores idle: the probe goes ahead.
    policy = BacklogPolicy(cores=2, machine_cpus=2)
    _, _, _, changes = _feed(
        policy, 0, 0.95, 1, 60, rate=100, completed=0, idle_cores=0.6, max_workers=8
    )
    assert [c[1] for c in changes] == [2, 3]
    assert "probing 1 worker(s)" in changes[-1][2] and "0.6 cores idle" in changes[-1][2]
    # The threshold is the policy's.
    policy = BacklogPolicy(cores=2, probe_idle=1.6, machine_cpus=2)
    _, _, _, changes = _feed(policy, 0, 3.0, 1, 60, rate=100, completed=0, idle_cores=1.5)
    assert [c[1] for c in changes] == [2]


def test_a_probe_adds_as_many_workers_as_the_idle_cores_can_feed() -> None:
    # Two workers leave 1.6 of 2 processors idle: each uses 0.2, so eight
    # more could run; the probe adds what waits and the ceiling allow.
    policy = BacklogPolicy(cores=2, machine_cpus=2)
    active, time, done, changes = _feed(
        policy, 0, 0.95, 1, 60, rate=100, completed=0, idle_cores=1.6, max_workers=8
    )
    assert [c[1] for c in changes] == [2, 8]
    assert "probing 6 worker(s)" in changes[-1][2]
    # If the eight finish no more than the two did, the probe is undone.
    active, _, _, changes = _feed(
        policy, time, 1.0, active, 60, rate=100, completed=done, idle_cores=1.6, max_workers=8
    )
    assert active == 2 and "no gain" in changes[-1][2]


def test_reverts_a_worker_that_brings_nothing_and_holds_the_ceiling() -> None:
    policy = BacklogPolicy(cores=2, hold=5.0)
    active, time, done, _ = _feed(policy, 0, 1.0, 1, 60, rate=100, completed=0)
    assert active == 3
    active, time, done, changes = _feed(policy, time, 1.0, active, 60, rate=101, completed=done)
    assert active == 2
    assert "no gain" in changes[-1][2]
    # The backlog is still there, but the ceiling holds for `hold` seconds.
    active, time, done, changes = _feed(policy, time, 4.0, active, 60, rate=100, completed=done)
    assert changes == []
    assert active == 2


def test_a_kept_worker_beyond_the_cores_retires_once_it_stops_helping() -> None:
    policy = BacklogPolicy(cores=2, hold=5.0)
    active, time, done, _ = _feed(policy, 0, 0.95, 1, 60, 100, 0, max_workers=3)
    active, time, done, changes = _feed(policy, time, 0.8, active, 60, 140, done, max_workers=3)
    assert active == 3 and changes == []  # kept: 40% more
    # Later the third worker brings nothing any more.
    active, time, done, changes = _feed(policy, time, 1.5, active, 60, 100, done, max_workers=3)
    assert active == 2
    assert "recheck" in changes[0][2]


def test_idle_surplus_retires_in_one_step_after_idle_after() -> None:
    policy = BacklogPolicy(idle_after=0.5)
    # Brief idleness (shorter than idle_after) changes nothing.
    active, time, done, changes = _feed(policy, 0, 0.3, 4, 1, rate=10, completed=0)
    assert changes == []
    active, time, done, changes = _feed(policy, time, 0.5, active, 1, rate=10, completed=done)
    assert [c[1] for c in changes] == [1]
    assert "idle" in changes[0][2]


def test_busy_workers_are_not_retired() -> None:
    policy = BacklogPolicy(cores=4)
    active, _, _, changes = _feed(policy, 0, 5, 4, 4, rate=10, completed=0)
    assert changes == [] and active == 4


def test_never_leaves_the_bounds() -> None:
    policy = BacklogPolicy()
    active, _, _, _ = _feed(policy, 0, 10, 1, 0, rate=0, completed=0)
    assert active == 1
    policy = BacklogPolicy(min_gain=0.0, cores=1)
    active, _, _, _ = _feed(policy, 0, 20, 2, 500, rate=100, completed=0, max_workers=4)
    assert active <= 4


def test_tasks_that_wait_with_cores_idle_grow_the_pool_beyond_the_cores_at_once() -> None:
    # Tasks using 0.05 of a core, 1.8 processors idle: no steady window is
    # waited for; the pool grows to what waits and the ceiling allow.
    policy = BacklogPolicy(cores=2, machine_cpus=2)
    active, time, done, changes = _feed(
        policy, 0, 0.4, 1, 60, rate=100, completed=0, idle_cores=1.8, task_cpu=0.05,
        max_workers=8,
    )  # fmt: skip
    assert [c[1] for c in changes] == [2, 8]
    assert changes[-1][0] <= 0.3
    assert "tasks using 0.05 of a core each" in changes[-1][2]
    # Judged like a probe: if the eight finish no more than the two did, undone.
    active, _, _, changes = _feed(
        policy, time, 1.0, active, 60, rate=100, completed=done, idle_cores=1.8,
        task_cpu=0.05, max_workers=8,
    )  # fmt: skip
    assert active == 2 and "no gain" in changes[-1][2]


def test_tasks_short_of_a_core_on_busy_cores_do_not_grow_beyond_them() -> None:
    # Each task got 0.6 of a core because the cores are contended (none
    # idle): more processes could only take turns.
    policy = BacklogPolicy(cores=2, machine_cpus=2)
    active, _, _, changes = _feed(
        policy, 0, 3.0, 1, 60, rate=100, completed=0, idle_cores=0.1, task_cpu=0.6
    )
    assert active == 2
    assert [c[1] for c in changes] == [2]
