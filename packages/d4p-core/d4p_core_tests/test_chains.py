"""Chains of stock per-item PEs run as one generated loop: same results,
exact counters, failures named by stage and input."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from d4p_core import ConsumerPE, IterativePE, ProducerPE, RunError, WorkflowGraph, run
from d4p_core.planning.plan import Plan
from d4p_core.runtime._chains import MEASURE_EVERY, compile_chains
from d4p_core.runtime._instances import InstanceState
from d4p_core.runtime.engine import Executor


class Count(ProducerPE):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def _process(self, inputs: Any) -> int:
        self.n += 1
        return self.n


class Keep(IterativePE):
    """Keeps multiples of ``k`` (returns None for the rest)."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def _process(self, data: int) -> int | None:
        return data if data % self.k == 0 else None


class Explode(IterativePE):
    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def _process(self, data: int) -> int:
        if data == self.at:
            raise ValueError(f"cannot take {data}")
        return data


class AlsoWrites(IterativePE):
    """Returns x and also writes -x: the written item takes the usual route."""

    def _process(self, data: int) -> int:
        self.write("output", -data)
        return data


class Collect(ConsumerPE):
    def __init__(self) -> None:
        super().__init__()
        self._add_output("result")
        self.seen: list[int] = []

    def _process(self, data: int) -> None:
        self.seen.append(data)

    def _postprocess(self) -> None:
        self.write("result", sorted(self.seen))


def _pipeline(*stages: Any) -> tuple[WorkflowGraph, list[Any]]:
    graph = WorkflowGraph()
    pes: list[Any] = [Count(), *stages, Collect()]
    for upstream, downstream in itertools.pairwise(pes):
        graph.connect(upstream, "output", downstream, "input")
    return graph, pes


def test_a_linear_pipeline_of_stock_pes_is_one_chain() -> None:
    graph, pes = _pipeline(Keep(2), Keep(3))
    plan = Plan.build(graph)
    executor = Executor(plan, {(pe.id, 0): pe for pe in pes})
    heads = [inst for inst in executor._order if inst.chain is not None]
    assert [m.pe_id for m in heads[0].chain.members] == [pe.id for pe in pes]


def test_a_pe_overriding_process_ends_the_chain() -> None:
    class Generic(IterativePE):
        def process(self, inputs: dict[str, Any]) -> dict[str, Any]:
            return {"output": inputs["input"]}

    graph, pes = _pipeline(Keep(2), Generic(), Keep(3))
    plan = Plan.build(graph)
    executor = Executor(plan, {(pe.id, 0): pe for pe in pes})
    chains = {
        inst.pe_id: [m.pe_id for m in inst.chain.members]
        for inst in executor._order
        if inst.chain is not None
    }
    assert chains == {pes[0].id: [pes[0].id, pes[1].id], pes[3].id: [pes[3].id, pes[4].id]}


@pytest.mark.parametrize("items", [10, 5 * MEASURE_EVERY * 64])
def test_results_and_counters_are_exact_with_filtering(items: int) -> None:
    graph, pes = _pipeline(Keep(2), Keep(3), Keep(5))
    result = run(graph, "simple", inputs=items)
    kept = [i for i in range(1, items + 1) if i % 30 == 0]
    assert result.outputs[pes[-1].id]["result"] == [kept]
    counts = {
        pe_id: (m.items_in, m.items_out, m.process_calls) for pe_id, m in result.metrics.items()
    }
    halves = items // 2
    assert counts == {
        pes[0].id: (0, items, items),
        pes[1].id: (items, halves, items),
        pes[2].id: (halves, items // 6, halves),
        pes[3].id: (items // 6, len(kept), items // 6),
        pes[4].id: (len(kept), 1, len(kept)),
    }
    assert all(m.busy_seconds > 0 for m in result.metrics.values())


@pytest.mark.parametrize("at", [1, 7, 3000])
def test_a_failure_names_the_stage_and_its_input(at: int) -> None:
    # Three stages of the same class: the stage is found by its place in the loop.
    graph, pes = _pipeline(Keep(1), Explode(at), Keep(1))
    with pytest.raises(RunError) as failure:
        run(graph, "simple", inputs=4000)
    assert failure.value.pe_id == pes[2].id
    assert failure.value.phase == "process"
    assert failure.value.input_repr == f"{{'input': {at}}}"
    assert f"cannot take {at}" in (failure.value.remote_traceback or "")


def test_a_failing_source_in_a_chain_is_named() -> None:
    class Broken(Count):
        def _process(self, inputs: Any) -> int:
            if self.n == 41:
                raise RuntimeError("source broke")
            return super()._process(inputs)

    graph = WorkflowGraph()
    source, sink = Broken(), Collect()
    graph.connect(source, "output", sink, "input")
    with pytest.raises(RunError) as failure:
        run(graph, "simple", inputs=100)
    assert failure.value.pe_id == source.id
    assert failure.value.input_repr == "{}"


def test_what_a_chained_pe_writes_still_reaches_the_next_stage() -> None:
    graph, pes = _pipeline(AlsoWrites(), Keep(1))
    result = run(graph, "simple", inputs=5000)
    [seen] = result.outputs[pes[-1].id]["result"]
    assert seen == sorted([*range(1, 5001), *(-i for i in range(1, 5001))])
    assert result.metrics[pes[1].id].items_out == 10000
    assert result.metrics[pes[2].id].items_in == 10000


def test_compile_chains_leaves_lone_instances_alone() -> None:
    graph = WorkflowGraph()
    graph.add(Count())
    plan = Plan.build(graph)
    [pe] = graph.flat().pes
    inst = InstanceState((pe.id, 0), pe, plan)
    compile_chains([inst])
    assert inst.chain is None
