"""A Storm task killed from outside (SIGKILL) ends the run with the wording
every mapping uses for a lost worker: Storm starts and reaps the task
processes, so the task's watcher (the process Storm started) reports how its
runner died. The shared LocalCluster survives (local mode does not halt the
JVM for a dead shell process) and runs the next workflow."""

from __future__ import annotations

import pytest

from d4p_core import RunError, WorkflowGraph, run
from d4p_core.testing import child_processes
from d4p_core.testing.pes import CountingProducer, KillSelfOn, PassThrough
from d4p_storm import LocalStorm

# Each test submits topologies to the LocalCluster (seconds each): full tier
# only; the fast tier's Storm smoke test is the conformance word count.
pytestmark = pytest.mark.slow


def test_a_killed_task_is_a_lost_worker(storm_cluster: LocalStorm) -> None:
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", KillSelfOn(3), "input")
    with pytest.raises(RunError) as failure:
        run(graph, "storm", inputs=10, processes=2, cluster=storm_cluster, timeout=120)
    message = str(failure.value)
    assert message == (
        "worker 1 (hosting KillSelfOn1[0]) was killed by signal SIGKILL before finishing"
    )
    assert not child_processes(), "processes were left running after the kill"

    assert storm_cluster.alive
    after = WorkflowGraph()
    after.connect(CountingProducer(), "output", PassThrough(), "input")
    result = run(after, "storm", inputs=4, processes=2, cluster=storm_cluster, timeout=120)
    assert sorted(result.outputs["PassThrough1"]["output"]) == [1, 2, 3, 4]
