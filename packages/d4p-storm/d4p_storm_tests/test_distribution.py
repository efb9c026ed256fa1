"""Storm spreads a stream over a PE's instances as every mapping does: the
sender's executor picks the instance (round robin item by item for a
shuffle, the key's stable hash for a group-by) and the tuple's key sends it
to that instance's task. A small stream reaches every instance, in the same
counts as on ``multi``."""

from __future__ import annotations

import pytest

from d4p_core import RunResult, WorkflowGraph, run
from d4p_core.testing.pes import PassThrough, WordCounter, WordProducer
from d4p_storm import LocalStorm

# Each test submits topologies to the LocalCluster (seconds each): full tier
# only; the fast tier's Storm smoke test is the conformance word count.
pytestmark = pytest.mark.slow


def _passing(instances: int) -> PassThrough:
    pe = PassThrough()
    pe.numprocesses = instances
    return pe


def _graph() -> tuple[WorkflowGraph, dict[str, PassThrough | WordCounter]]:
    """5 words, shuffled to 2 instances then 3; grouped by word to 3."""
    graph = WorkflowGraph()
    source, first, second, counter = WordProducer(), _passing(2), _passing(3), WordCounter(3)
    graph.connect(source, "output", first, "input")
    graph.connect(first, "output", second, "input")
    graph.connect(source, "output", counter, "input")
    return graph, {"first": first, "second": second, "counter": counter}


def _items_in(result: RunResult, pe_id: str) -> list[int]:
    per_instance = result.instance_metrics[pe_id]
    return [per_instance[index].items_in for index in sorted(per_instance)]


def test_a_small_stream_reaches_every_instance_as_on_multi(storm_cluster: LocalStorm) -> None:
    graph, pes = _graph()
    storm = run(graph, "storm", inputs=5, processes=9, cluster=storm_cluster, timeout=120)
    multi = run(_graph()[0], "multi", inputs=5, processes=9)
    # Round robin item by item: 3 and 2, then from instance 0 to 0, 1, 2
    # and from instance 1 to 1, 2 (each sender starts at its own index).
    assert _items_in(storm, pes["first"].id) == [3, 2]
    assert _items_in(storm, pes["second"].id) == [1, 2, 2]
    for pe in pes.values():
        assert _items_in(storm, pe.id) == _items_in(multi, pe.id), pe.id
    assert sorted(storm.outputs[pes["counter"].id]["output"]) == sorted(
        multi.outputs[pes["counter"].id]["output"]
    )
