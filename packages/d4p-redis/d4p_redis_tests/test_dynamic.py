"""Autoscaling decisions and pinned instances of the dynamic mappings."""

from __future__ import annotations

from d4p_core import ScalingSnapshot, WorkflowGraph, run
from d4p_core.testing.pes import WordCounter, WordProducer

from .pes import pipeline


class _GrowThenShrink:
    """Wants every worker for the first half second, then one."""

    interval = 0.05

    def initial(self, min_workers: int, max_workers: int) -> int:
        return min_workers

    def decide(self, snapshot: ScalingSnapshot) -> tuple[int, str]:
        if snapshot.time < 0.5:
            return snapshot.max_workers, "grow"
        return snapshot.min_workers, "shrink"


def test_autoscaling_decisions_recorded() -> None:
    result = run(
        pipeline(400, pause=0.003), "dyn_auto_redis", processes=2, policy=_GrowThenShrink()
    )
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(400)]
    decisions = result.extra["autoscaling"]
    assert [(d["active_before"], d["active_after"], d["reason"]) for d in decisions] == [
        (1, 2, "grow"),
        (2, 1, "shrink"),
    ]


def _word_count() -> WorkflowGraph:
    graph = WorkflowGraph()
    graph.connect(WordProducer(), "output", WordCounter(numprocesses=2), "input")
    return graph


def test_hybrid_pins_grouped_instances() -> None:
    reference = run(_word_count(), "simple", inputs=40)
    result = run(_word_count(), "hybrid_redis", inputs=40, processes=2)
    assert result.extra["pinned"] == {"WordCounter1[0]": 0, "WordCounter1[1]": 1}
    key = ("WordCounter1", "output")
    assert sorted(map(tuple, result.outputs[key[0]][key[1]])) == sorted(
        map(tuple, reference.outputs[key[0]][key[1]])
    )
