"""The simple mapping: the reference every other mapping is compared with."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest

import d4p_core
from d4p_core import (
    GROUPING,
    D4pError,
    RunError,
    SimpleMapping,
    WorkflowGraph,
)
from d4p_core_tests._pes import (
    AddOne,
    Collector,
    Counter,
    Double,
    DropOdd,
    EvenOdd,
    Failing,
    Identity,
    LifecycleRecorder,
    NumberProducer,
    OneProducer,
    SumInPostprocess,
    build_pipeline,
    run_simple,
)


def test_pipeline_results_in_order() -> None:
    graph, pes = build_pipeline(NumberProducer(5), 4)
    result = run_simple(graph)
    assert result.mapping == "simple"
    assert result.outputs == {pes[-1].id: {"output": [4, 5, 6, 7, 8]}}
    assert result.errors == []
    assert result.elapsed_seconds >= 0


def test_iterations_call_every_root_that_many_times() -> None:
    graph, pes = build_pipeline(OneProducer(), 2)
    assert run_simple(graph, inputs=4).outputs == {pes[-1].id: {"output": [2, 3, 4, 5]}}


def test_only_unconnected_outputs_are_results() -> None:
    graph = WorkflowGraph()
    source, split, double = NumberProducer(6), EvenOdd(), Double()
    graph.connect(source, "output", split, "input")
    graph.connect(split, "even", double, "input")
    result = run_simple(graph)
    assert result.outputs == {
        split.id: {"odd": [1, 3, 5]},
        double.id: {"output": [0, 4, 8]},
    }


def test_none_is_not_emitted() -> None:
    graph = WorkflowGraph()
    drop = DropOdd()
    graph.connect(NumberProducer(6), "output", drop, "input")
    assert run_simple(graph).outputs == {drop.id: {"output": [0, 2, 4]}}


def test_consumer_results_are_empty() -> None:
    graph = WorkflowGraph()
    collector = Collector()
    graph.connect(NumberProducer(3), "output", collector, "input")
    assert run_simple(graph).outputs == {}
    assert collector.received == []  # the run worked on a copy


def test_postprocess_output_reaches_downstream() -> None:
    graph = WorkflowGraph()
    source, total, after = NumberProducer(5), SumInPostprocess(), AddOne()
    graph.connect(source, "output", total, "input")
    graph.connect(total, "output", after, "input")
    assert run_simple(graph).outputs == {after.id: {"output": [11]}}


def test_postprocess_output_reaches_downstream_postprocess() -> None:
    graph = WorkflowGraph()
    source, first, second = NumberProducer(4), SumInPostprocess(), SumInPostprocess()
    graph.connect(source, "output", first, "input")
    graph.connect(first, "output", second, "input")
    assert run_simple(graph).outputs == {second.id: {"output": [6]}}


def test_preprocess_and_postprocess_called_once() -> None:
    graph = WorkflowGraph()
    source, split, recorder = NumberProducer(3), EvenOdd(), LifecycleRecorder()
    graph.connect(source, "output", split, "input")
    graph.connect(split, "even", recorder, "input")
    graph.connect(split, "odd", recorder, "input")
    graph.connect(source, "output", recorder, "input")
    [events] = run_simple(graph).outputs[recorder.id]["events"]
    assert events == ["preprocess"] + ["process"] * 6 + ["postprocess"]


def test_preprocess_runs_before_any_data_everywhere() -> None:
    order: list[str] = []

    class Tracking(Identity):
        def _preprocess(self) -> None:
            order.append(f"pre {self.id}")

        def _process(self, data: Any) -> Any:
            order.append(f"process {self.id}")
            return data

        def _postprocess(self) -> None:
            order.append(f"post {self.id}")

    graph = WorkflowGraph()
    a, b = Tracking(), Tracking()
    graph.connect(NumberProducer(1), "output", a, "input")
    graph.connect(a, "output", b, "input")
    run_simple(graph)
    assert order == [
        "pre Tracking1",
        "pre Tracking2",
        "process Tracking1",
        "process Tracking2",
        "post Tracking1",
        "post Tracking2",
    ]


def test_root_with_no_input_runs_once() -> None:
    graph = WorkflowGraph()
    first, second = OneProducer(), OneProducer()
    first.name, second.name = "first", "second"
    graph.connect(first, "output", AddOne(), "input")
    graph.connect(second, "output", AddOne(), "input")
    result = run_simple(graph, inputs={"first": 3})
    lengths = sorted(len(v["output"]) for v in result.outputs.values())
    assert lengths == [1, 3]
    assert run_simple(graph, inputs={}).outputs != {}


def test_zero_iterations_still_ends() -> None:
    graph, pes = build_pipeline(OneProducer(), 2)
    recorder = LifecycleRecorder()
    graph.connect(pes[-1], "output", recorder, "input")
    assert run_simple(graph, inputs=0).outputs == {
        recorder.id: {"events": [["preprocess", "postprocess"]]}
    }


def test_inputs_to_a_non_root_pe() -> None:
    graph, pes = build_pipeline(OneProducer(), 2)
    result = run_simple(graph, inputs={pes[2].id: [{"input": 100}, {"input": 200}]})
    assert sorted(result.outputs[pes[2].id]["output"]) == [2, 101, 201]


def test_source_blocks_are_passed_to_process() -> None:
    class Echo(OneProducer):
        def _process(self, inputs: Any) -> Any:
            return inputs

    graph = WorkflowGraph()
    echo = Echo()
    graph.add(echo)
    blocks = [{"file": "a.txt"}, {"file": "b.txt"}]
    assert run_simple(graph, inputs={echo: blocks}).outputs == {echo.id: {"output": blocks}}


def test_groupings_with_one_instance() -> None:
    graph = WorkflowGraph()
    source, everyone, one = NumberProducer(3), Identity(), Identity()
    everyone.inputconnections["input"][GROUPING] = "all"
    one.inputconnections["input"][GROUPING] = "global"

    class Keyed(Identity):
        def _process(self, data: Any) -> Any:
            return (data % 2, data)

    keyed, counter = Keyed(), Counter()
    graph.connect(source, "output", everyone, "input")
    graph.connect(source, "output", one, "input")
    graph.connect(source, "output", keyed, "input")
    graph.connect(keyed, "output", counter, "input")
    outputs = run_simple(graph).outputs
    assert outputs[everyone.id] == {"output": [0, 1, 2]}
    assert outputs[one.id] == {"output": [0, 1, 2]}
    assert outputs[counter.id] == {"output": [(0, 1), (1, 1), (0, 2)]}


def test_metrics_count_items() -> None:
    graph = WorkflowGraph()
    source, drop, double = NumberProducer(10), DropOdd(), Double()
    graph.connect(source, "output", drop, "input")
    graph.connect(drop, "output", double, "input")
    metrics = run_simple(graph).metrics
    assert set(metrics) == {source.id, drop.id, double.id}
    assert (metrics[source.id].items_in, metrics[source.id].items_out) == (0, 10)
    assert metrics[source.id].process_calls == 1
    assert (metrics[drop.id].items_in, metrics[drop.id].items_out) == (10, 5)
    assert (metrics[double.id].items_in, metrics[double.id].items_out) == (5, 5)
    assert metrics[double.id].process_calls == 5
    assert all(m.instances == 1 for m in metrics.values())
    assert all(m.busy_seconds >= 0 for m in metrics.values())


def test_processes_is_accepted_and_ignored_unknown_options_are_not() -> None:
    graph, pes = build_pipeline(NumberProducer(2), 1)
    result = d4p_core.run(graph, SimpleMapping(), processes=8)
    assert result.outputs == {pes[-1].id: {"output": [1, 2]}}
    with pytest.raises(D4pError, match="no options"):
        d4p_core.run(graph, SimpleMapping(), turbo=True)


def test_a_graph_can_run_twice() -> None:
    graph, pes = build_pipeline(OneProducer(), 1)
    assert run_simple(graph, inputs=2).outputs == {pes[-1].id: {"output": [1, 2]}}
    # Runs work on fresh copies: the producer's counter starts again, and the
    # graph's own objects are untouched (DESIGN §3.8).
    assert run_simple(graph, inputs=2).outputs == {pes[-1].id: {"output": [1, 2]}}
    assert pes[0].next_value == 0  # type: ignore[attr-defined]


# -- failures --------------------------------------------------------------------------
def _failing_graph(phase: str) -> tuple[WorkflowGraph, Failing]:
    graph = WorkflowGraph()
    failing = Failing(phase, on=3)
    graph.connect(NumberProducer(6), "output", failing, "input")
    graph.connect(failing, "output", AddOne(), "input")
    return graph, failing


def test_raise_in_process_is_a_run_error() -> None:
    graph, failing = _failing_graph("process")
    with pytest.raises(RunError) as info:
        run_simple(graph)
    error = info.value
    assert error.pe_id == failing.id
    assert error.instance == 0
    assert error.phase == "process"
    assert error.input_repr == "{'input': 3}"
    assert failing.id in str(error) and "{'input': 3}" in str(error) and "boom on 3" in str(error)
    assert error.remote_traceback is not None
    assert "ValueError: boom on 3" in error.remote_traceback
    assert "_pes.py" in error.remote_traceback
    assert error.exit_code == 2


@pytest.mark.parametrize("phase", ["preprocess", "postprocess"])
def test_raise_in_lifecycle_is_a_run_error(phase: str) -> None:
    graph, failing = _failing_graph(phase)
    with pytest.raises(RunError) as info:
        run_simple(graph)
    error = info.value
    assert (error.pe_id, error.instance, error.phase) == (failing.id, 0, phase)
    assert error.input_repr is None
    assert phase in str(error) and failing.id in str(error)
    assert error.remote_traceback is not None
    assert f"boom in {phase}" in error.remote_traceback


def test_raise_in_a_source_names_the_source() -> None:
    class Broken(OneProducer):
        def _process(self, inputs: Any) -> Any:
            raise KeyError("missing")

    graph = WorkflowGraph()
    broken = Broken()
    graph.connect(broken, "output", AddOne(), "input")
    with pytest.raises(RunError) as info:
        run_simple(graph, inputs={broken: [{"x": 1}]})
    assert info.value.pe_id == broken.id
    assert info.value.input_repr == "{'x': 1}"


# -- bounded memory --------------------------------------------------------------------------
def _peak_bytes(run: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class _Discard(Collector):
    """A consumer that keeps nothing."""

    def _process(self, data: Any) -> Any:
        return None


def _pipeline(source: Any) -> WorkflowGraph:
    graph, pes = build_pipeline(source, 3)
    graph.connect(pes[-1], "output", _Discard(), "input")
    return graph


# 10x more items must not need more memory. The issue asks for 10 million
# items; tracemalloc slows Python down a lot, so this uses 10k vs 100k items.
SMALL, LARGE = 10_000, 100_000


def test_memory_is_bounded_with_iterations() -> None:
    small = _peak_bytes(lambda: run_simple(_pipeline(OneProducer()), inputs=SMALL))
    large = _peak_bytes(lambda: run_simple(_pipeline(OneProducer()), inputs=LARGE))
    assert large < 2 * small + 256 * 1024, (small, large)


def test_memory_is_bounded_when_a_source_writes_everything_in_one_call() -> None:
    small_n, large_n = SMALL // 4, LARGE // 4
    small = _peak_bytes(lambda: run_simple(_pipeline(NumberProducer(small_n))))
    large = _peak_bytes(lambda: run_simple(_pipeline(NumberProducer(large_n))))
    assert large < 2 * small + 256 * 1024, (small, large)
