"""dyn_auto_redis starts and retires worker processes: the pool grows and
shrinks, a retired worker closes its PE copies (their partial aggregates
arrive) and exits, a worker killed mid-task loses and repeats nothing, an
external worker that joins is counted and can be retired, and a custom
policy (the AutoscalePolicy protocol) drives it all."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis

from d4p_core import BacklogPolicy, ScalingSnapshot, WorkflowGraph, run
from d4p_core.testing.pes import BurstThenTail, BusyBelow, LifecycleProbe, PartialSum
from d4p_core.testing.policies import ScriptedPolicy
from d4p_core.testing.processes import child_processes
from d4p_redis import RunKeys

from .pes import Double, Numbers, pipeline
from .test_external_workers import (
    _start_run,
    _wait_for_local_processes,
    _wait_for_members,
    _wait_for_run,
    _worker,
)


def _actions(result: Any) -> list[str]:
    return [entry["action"] for entry in result.extra["scaling_actions"]]


def _aggregates(n: int, pause: float) -> tuple[WorkflowGraph, Double, PartialSum, LifecycleProbe]:
    """Numbers -> Double -> each of Double (the items), PartialSum, LifecycleProbe."""
    graph = WorkflowGraph()
    first, double, partial, probe = Double(), Double(), PartialSum(), LifecycleProbe()
    graph.connect(Numbers(n, pause), "output", first, "input")
    for pe in (double, partial, probe):
        graph.connect(first, "output", pe, "input")
    return graph, double, partial, probe


@pytest.mark.timeout(120)
def test_a_custom_policy_starts_and_retires_workers_and_their_copies_are_closed() -> None:
    n = 300
    graph, double, partial, probe = _aggregates(n, pause=0.002)
    policy = ScriptedPolicy(shrink_after=200)  # of about 1200 tasks
    result = run(graph, "dyn_auto_redis", processes=3, batch_size=1, policy=policy)
    assert policy.snapshots, "the coordinator asks the custom policy"
    assert _actions(result)[:2] == ["start", "retire"]
    reasons = [d["reason"] for d in result.extra["autoscaling"]]
    assert reasons[:2] == ["scripted: 3 workers for the bulk", "scripted: the work is nearly done"]
    reference, *_ = _aggregates(n, pause=0)
    expected = run(reference, "simple")
    # Nothing lost, nothing repeated.
    assert sorted(result.outputs[double.id]["output"]) == sorted(
        expected.outputs[double.id]["output"]
    )
    # Every worker process closed its copies once, retired ones included:
    # the partial sums add up, and each copy's report arrived.
    workers = result.extra["processes_started"] - 1  # the sources host no copy
    assert workers >= 3
    assert sum(result.outputs[partial.id]["output"]) == sum(expected.outputs[partial.id]["output"])
    reports = result.outputs[probe.id]["output"]
    assert len(reports) == workers
    assert sum(items for _, items in reports) == n
    assert result.process_seconds > 0
    assert not child_processes()


@pytest.mark.timeout(120)
def test_a_burst_then_a_light_tail_grows_then_shrinks_the_pool() -> None:
    burst = 200
    graph = WorkflowGraph()
    busy = BusyBelow(burst, 10)
    graph.connect(BurstThenTail(burst, pause=0.05, fast=0.002), "output", busy, "input")
    policy = BacklogPolicy(cores=3, idle_after=0.3, window=0.3)
    result = run(
        graph, "dyn_auto_redis", inputs=burst + 60, processes=3, batch_size=1, policy=policy
    )
    assert Counter(result.outputs[busy.id]["output"]) == Counter(range(burst + 60))
    decisions = result.extra["autoscaling"]
    sizes = [d["active_after"] for d in decisions]
    peak = sizes.index(max(sizes))
    assert decisions[0]["active_before"] == 1 and max(sizes) == 3, decisions
    assert "backlog" in decisions[0]["reason"]
    assert any(size < max(sizes) for size in sizes[peak:]), f"no shrink after the burst: {sizes}"
    actions = _actions(result)
    assert actions[0] == "start" and "retire" in actions[peak:], actions
    assert not child_processes()


@pytest.mark.timeout(120)
def test_a_worker_killed_mid_task_loses_and_repeats_nothing(tmp_path: Path) -> None:
    n = 400
    stage = Double(kill_marker=str(tmp_path / "killed"))
    result = run(
        pipeline(n, pause=0.001, stage=stage),
        "dyn_auto_redis",
        processes=3,
        batch_size=2,
        read_count=1,
        policy=ScriptedPolicy(shrink_after=10_000),
    )
    assert (tmp_path / "killed").exists(), "a worker was killed"
    assert sorted(result.outputs[stage.id]["output"]) == [2 * i for i in range(n)]
    assert len(result.extra["dead_workers"]) == 1
    assert "lost" in _actions(result)
    assert not child_processes()


class _CountsExternal:
    """Wants every worker (external ones included) until ``shrink_after``
    tasks finished, then one; remembers the most workers it saw active."""

    interval = 0.05

    def __init__(self, shrink_after: int) -> None:
        self.shrink_after = shrink_after
        self.most_active = 0

    def initial(self, min_workers: int, max_workers: int) -> int:
        return min_workers

    def decide(self, snapshot: ScalingSnapshot) -> tuple[int, str]:
        self.most_active = max(self.most_active, snapshot.active)
        if snapshot.completed >= self.shrink_after:
            return 1, "shrink"
        return snapshot.max_workers, "grow"


def _with_an_external_worker(
    url: str, tmp_path: Path, run_id: str, n: int, policy: Any
) -> tuple[threading.Thread, dict[str, Any], subprocess.Popen[str]]:
    """A dyn_auto_redis run of ``n`` items with one local worker, whose
    source waits until an external worker (``d4p worker redis``) joined."""
    gate = tmp_path / "gate"
    thread, box = _start_run(
        pipeline(n, gate=str(gate), pause=0.002),
        "dyn_auto_redis",
        processes=1,
        batch_size=1,
        run_id=run_id,
        policy=policy,
    )
    _wait_for_run(url, run_id)
    _wait_for_local_processes(2)  # the sources and the one local worker
    worker = _worker(url, "--run", run_id)
    _wait_for_members(url, run_id, 2)
    gate.touch()
    return thread, box, worker


@pytest.mark.timeout(120)
def test_an_external_worker_that_joins_is_counted_and_retired(
    redis_url: str, tmp_path: Path
) -> None:
    n = 400
    policy = _CountsExternal(shrink_after=n // 2)
    thread, box, worker = _with_an_external_worker(redis_url, tmp_path, "joins", n, policy)
    thread.join(timeout=120)
    _, stderr = worker.communicate(timeout=60)
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(n)]
    assert worker.returncode == 0, stderr
    assert len(stderr.splitlines()) <= 1, stderr
    assert result.extra["external_workers"] == [1]
    assert policy.most_active == 2, "the external worker counts as active"
    external = result.extra["workers"] + 1 + 1  # the coordinator's index of member 1
    actions = result.extra["scaling_actions"]
    assert {"join": [external]} in [{a["action"]: a["slots"]} for a in actions]
    retired = [a["slots"] for a in actions if a["action"] == "retire"]
    assert retired and retired[0] == [external], actions  # the external one goes first
    assert result.process_seconds > 0


def _wait_for_reader(url: str, run_id: str, consumer: str) -> None:
    """Until ``consumer`` has read from the run's task stream."""
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 60
        while True:
            consumers = client.xinfo_consumers(RunKeys(run_id).tasks, "d4p")
            if any(c["name"].decode() == consumer for c in consumers):
                return
            assert time.monotonic() < deadline, f"{consumer} never read a task"
            time.sleep(0.01)
    finally:
        client.close()


@pytest.mark.timeout(120)
def test_an_external_worker_stopped_by_sigterm_leaves_cleanly(
    redis_url: str, tmp_path: Path
) -> None:
    """It hands back what it holds and stops its heartbeat: counted out,
    nothing lost or repeated, exit status 143, nothing on stderr."""
    n = 400
    policy = ScriptedPolicy(shrink_after=10_000, bulk=2)
    thread, box, worker = _with_an_external_worker(redis_url, tmp_path, "sigterm", n, policy)
    _wait_for_reader(redis_url, "sigterm", "w1")
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=60)
    thread.join(timeout=120)
    assert worker.returncode == 143, stderr
    assert stderr == ""
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(n)]
    assert result.extra["dead_workers"] == [1]
    assert "lost" in _actions(result)
