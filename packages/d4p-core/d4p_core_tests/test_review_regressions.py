"""Regressions found in review: each was a crash, a hang or a wrong result."""

from __future__ import annotations

import pytest

import d4p_core
from d4p_core import Plan, RunError, WorkflowGraph, run
from d4p_core.testing import child_processes
from d4p_core.testing.pes import Burst, CountingProducer, KillSelfOn, PassThrough
from d4p_core.testing.workflows import build_postprocess_aggregate, build_word_count

from ._mp_pes import Fan, Pair, PoolUser, StatefulTotal, Ticker


def test_hybrid_never_hands_a_pinned_pes_work_to_another_worker() -> None:
    graph = WorkflowGraph()
    fan, total = Fan(100), StatefulTotal()
    graph.connect(Burst(2000), "output", fan, "input")
    graph.connect(fan, "output", total, "input")
    result = run(graph, "hybrid_multi", inputs=1, processes=2)
    assert result.outputs["StatefulTotal2"]["output"] == [200_000]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mapping", ["simple", "multi"])
def test_a_replicated_pe_beside_its_producer_stays_linear(mapping: str) -> None:
    graph = WorkflowGraph()
    middle, last = PassThrough(), PassThrough()
    middle.numprocesses = 2
    graph.connect(Burst(50_000), "output", middle, "input")
    graph.connect(middle, "output", last, "input")
    result = run(graph, mapping, inputs=1, processes=1)
    assert sorted(result.outputs["PassThrough2"]["output"]) == list(range(50_000))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mapping", ["multi", "dyn_multi"])
def test_a_killed_worker_is_noticed_while_others_keep_reporting(mapping: str) -> None:
    # The ticker never ends: only noticing the killed worker ends this run.
    graph = WorkflowGraph()
    ticker = Ticker()
    graph.connect(ticker, "output", KillSelfOn(5), "input")
    graph.connect(ticker, "output", PassThrough(), "input")
    with pytest.raises(RunError, match="SIGKILL"):
        run(graph, mapping, inputs=1, processes=3)
    assert not child_processes()


@pytest.mark.parametrize("mapping", ["simple", "multi", "dyn_multi", "hybrid_multi"])
def test_a_block_given_to_a_non_source_pe_is_processed_whole(mapping: str) -> None:
    graph = WorkflowGraph()
    source, pair = CountingProducer(), Pair()
    graph.connect(source, "output", pair, "a")
    result = run(graph, mapping, inputs={source: 0, pair: [{"a": 1, "b": 2}]}, processes=2)
    assert result.outputs["Pair1"]["output"] == [[1, 2]]


def test_dynamic_check_refuses_what_run_refuses() -> None:
    for graph in (build_word_count(), build_postprocess_aggregate()):
        with pytest.raises(d4p_core.UnsupportedGraphError):
            d4p_core.load_mapping("dyn_multi").check(Plan.build(graph))
    d4p_core.load_mapping("hybrid_multi").check(Plan.build(build_word_count()))


def test_worker_bounds_are_validated() -> None:
    with pytest.raises(d4p_core.D4pError, match="min_workers must be at least 1"):
        run(build_word_count(), "dyn_auto_multi", inputs=1, processes=2, min_workers=0)


@pytest.mark.parametrize("mapping", ["multi", "dyn_multi"])
def test_a_pe_may_start_processes_of_its_own(mapping: str) -> None:
    graph = WorkflowGraph()
    graph.connect(Burst(3), "output", PoolUser(), "input")
    result = run(graph, mapping, inputs=1, processes=2)
    assert sorted(result.outputs["PoolUser1"]["output"]) == [0, 1, 2]
