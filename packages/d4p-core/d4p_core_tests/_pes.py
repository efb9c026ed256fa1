"""Test PEs and graph builders shared by the d4p-core unit tests.

Everything here is at module level so that it pickles and can be imported by
the fresh interpreters some tests spawn.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import d4p_core
from d4p_core import (
    NAME,
    CompositePE,
    ConsumerPE,
    GenericPE,
    IterativePE,
    ProducerPE,
    RunResult,
    SimpleMapping,
    WorkflowGraph,
    create_iterative_chain,
)
from d4p_core.testing import processes

__all__ = [
    "AddOne",
    "Collector",
    "Counter",
    "Dispel4pyStylePE",
    "Double",
    "DropOdd",
    "EvenOdd",
    "Failing",
    "Identity",
    "LifecycleRecorder",
    "Merge",
    "NumberProducer",
    "OneProducer",
    "SumInPostprocess",
    "build_id_graph",
    "build_pipeline",
    "double_fn",
    "inc_fn",
    "run_all_instances",
    "run_simple",
    "stable_hash_keys",
    "subprocess_env",
]


# -- PEs ----------------------------------------------------------------------
class NumberProducer(ProducerPE):
    """Writes ``count`` consecutive integers per call (continuing across calls)."""

    def __init__(self, count: int = 10) -> None:
        super().__init__()
        self.count = count
        self.next_value = 0

    def _process(self, inputs: Any) -> Any:
        for _ in range(self.count):
            self.write(self.OUTPUT_NAME, self.next_value)
            self.next_value += 1
        return None


class OneProducer(ProducerPE):
    """Returns one integer per call: 0, 1, 2, ..."""

    def __init__(self) -> None:
        super().__init__()
        self.next_value = 0

    def _process(self, inputs: Any) -> Any:
        value = self.next_value
        self.next_value += 1
        return value


class AddOne(IterativePE):
    def _process(self, data: Any) -> Any:
        return data + 1


class Double(IterativePE):
    def _process(self, data: Any) -> Any:
        return data * 2


class Identity(IterativePE):
    def _process(self, data: Any) -> Any:
        return data


class DropOdd(IterativePE):
    """Returns ``None`` (emits nothing) for odd numbers."""

    def _process(self, data: Any) -> Any:
        return data if data % 2 == 0 else None


class Collector(ConsumerPE):
    """Keeps what it receives (in this process only)."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Any] = []

    def _process(self, data: Any) -> Any:
        self.received.append(data)
        return None


class EvenOdd(GenericPE):
    """One input, outputs ``even`` and ``odd``."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("input")
        self._add_output("even")
        self._add_output("odd")

    def _process(self, inputs: Any) -> Any:
        value = inputs["input"]
        return {"even" if value % 2 == 0 else "odd": value}


class Merge(GenericPE):
    """Inputs ``a`` and ``b``, forwards both to ``output``."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("a")
        self._add_input("b")
        self._add_output("output")

    def _process(self, inputs: Any) -> Any:
        return {"output": next(iter(inputs.values()))}


class Counter(GenericPE):
    """Grouped by element 0 of its input; writes ``(key, running count)``."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("input", grouping=[0])
        self._add_output("output")
        self.counts: dict[Any, int] = {}

    def _process(self, inputs: Any) -> Any:
        key = inputs["input"][0]
        self.counts[key] = self.counts.get(key, 0) + 1
        return {"output": (key, self.counts[key])}


class Dispel4pyStylePE(GenericPE):
    """Declares its ports by assigning the connection dicts, as dispel4py PEs do."""

    def __init__(self) -> None:
        GenericPE.__init__(self)
        self.inputconnections = {"input": {NAME: "input"}}
        self.outputconnections = {"output": {NAME: "output"}}

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        return {"output": inputs["input"]}


class LifecycleRecorder(IterativePE):
    """Records every lifecycle call in ``events`` and forwards its input;
    writes the events on its unconnected output ``events`` at the end (a run
    works on copies: the object given to it never sees the calls)."""

    def __init__(self) -> None:
        super().__init__()
        self._add_output("events")
        self.events: list[str] = []

    def _preprocess(self) -> None:
        self.events.append("preprocess")

    def _process(self, data: Any) -> Any:
        self.events.append("process")
        return data

    def _postprocess(self) -> None:
        self.events.append("postprocess")
        self.write("events", self.events)


class SumInPostprocess(IterativePE):
    """Emits nothing while processing; writes the sum in ``postprocess``."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def _process(self, data: Any) -> Any:
        self.total += data
        return None

    def _postprocess(self) -> None:
        self.write(self.OUTPUT_NAME, self.total)


class Failing(IterativePE):
    """Raises ``ValueError`` in ``phase`` (on the item ``on`` for ``process``)."""

    def __init__(self, phase: str = "process", on: Any = 3) -> None:
        super().__init__()
        self.phase = phase
        self.on = on

    def _preprocess(self) -> None:
        if self.phase == "preprocess":
            raise ValueError("boom in preprocess")

    def _process(self, data: Any) -> Any:
        if self.phase == "process" and data == self.on:
            raise ValueError(f"boom on {data}")
        return data

    def _postprocess(self) -> None:
        if self.phase == "postprocess":
            raise ValueError("boom in postprocess")


def inc_fn(data: Any) -> Any:
    return data + 1


def double_fn(data: Any, factor: int = 2) -> Any:
    return data * factor


# -- graphs -------------------------------------------------------------------
def build_pipeline(source: GenericPE, stages: int) -> tuple[WorkflowGraph, list[GenericPE]]:
    """``source`` followed by ``stages`` AddOne PEs."""
    graph = WorkflowGraph()
    pes: list[GenericPE] = [source]
    for _ in range(stages):
        stage = AddOne()
        graph.connect(pes[-1], "output", stage, "input")
        pes.append(stage)
    return graph, pes


def _inner(composite: CompositePE) -> None:
    first, second = AddOne(), Double()
    composite.connect(first, "output", second, "input")
    composite._map_input("input", first, "input")
    composite._map_output("output", second, "output")


def build_id_graph() -> WorkflowGraph:
    """A graph with plain PEs, a composite, a chain and a nested composite."""
    graph = WorkflowGraph()
    source = NumberProducer(3)
    composite = CompositePE(_inner)
    chain = create_iterative_chain([inc_fn, (double_fn, {"factor": 3})])

    def wrap(outer: CompositePE) -> None:
        nested = CompositePE(_inner)
        outer._map_input("input", nested, "input")
        outer._map_output("output", nested, "output")

    nested_outer = CompositePE(wrap)
    tee = Identity()
    graph.connect(source, "output", composite, "input")
    graph.connect(composite, "output", chain, "input")
    graph.connect(chain, "output", nested_outer, "input")
    graph.connect(nested_outer, "output", tee, "input")
    graph.connect(source, "output", AddOne(), "input")
    return graph


def stable_hash_keys() -> list[Any]:
    """About fifty group-by keys of every supported kind."""
    keys: list[Any] = []
    keys += [f"word{i}" for i in range(10)] + ["", "ünïcødé", "a" * 100]
    keys += [f"b{i}".encode() for i in range(5)] + [b""]
    keys += [0, 1, -1, 7, 2**40, -(2**70), 123456789]
    keys += [0.5, -2.25, 3.14159, 1e-9, float("inf")]
    keys += [(1, "a"), ("x", b"y", 2.5), (), (("nested",), 1)]
    keys += [[1, 2, 3], ["a", ["b", ["c"]]], []]
    keys += [{"a": 1, "b": 2}, {"k": [1, 2], "z": {"inner": (1, 2)}}, {}]
    keys += [None, True, False, {"mixed": [1, "two", b"three", 4.5, None]}]
    keys += [("word", 3), ["word", 3], {"word": "hello", "count": 3}]
    keys += [frozenset({"x", "y"}), {1, 2, 3}]
    return keys


# -- running ------------------------------------------------------------------
def run_simple(graph: WorkflowGraph, inputs: Any = None) -> RunResult:
    """Run ``graph`` on ``simple`` without needing the entry point installed."""
    return d4p_core.run(graph, SimpleMapping(), inputs=inputs)


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a fresh interpreter that can import d4p_core and these tests."""
    tests_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return processes.subprocess_env(tests_root, **extra)


PYTHON = sys.executable


def run_all_instances(
    graph: WorkflowGraph, processes: int, inputs: Any = None
) -> tuple[dict[str, dict[str, list[Any]]], dict[tuple[str, int], GenericPE]]:
    """Run every instance of ``Plan.build(graph, processes)`` in this process
    through one Executor (no transport); returns the outputs and the hosted PEs."""
    from d4p_core import Executor, Plan, instantiate, resolve_inputs

    flat = graph.flat()
    plan = Plan.build(flat, processes)
    addresses = [(pe_id, i) for pe_id in plan.pe_ids for i in range(plan.instances[pe_id])]
    hosted = instantiate(flat.by_id(), addresses)
    outputs: dict[str, dict[str, list[Any]]] = {}

    def collect(pe_id: str, output: str, value: Any) -> None:
        outputs.setdefault(pe_id, {}).setdefault(output, []).append(value)

    executor = Executor(plan, hosted, on_result=collect)
    executor.start()
    executor.feed(resolve_inputs(flat, inputs, plan.sources))
    assert executor.done
    return outputs, hosted
