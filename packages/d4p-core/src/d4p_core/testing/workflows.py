"""The conformance workflows: module-level graph builders with known results
(or invariants), usable from any process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..inputs import Inputs
from ..model.composite import create_iterative_chain
from ..model.graph import WorkflowGraph
from ..model.helpers import IterativePE
from .pes import (
    BlockCounter,
    CountingProducer,
    EvenOddPairer,
    GlobalSum,
    LengthFilter,
    ModFilter,
    MultiWriter,
    NumberProducer,
    OddSquares,
    ParitySplitter,
    PartialSum,
    PassThrough,
    Sequencer,
    Total,
    TwoInOneOut,
    WordCounter,
    WordProducer,
    WriterPassThrough,
)

__all__ = ["CASES", "ConformanceCase", "case_by_name"]

N = 20


def build_pipeline() -> WorkflowGraph:
    """CountingProducer → 5 pass-through stages."""
    graph = WorkflowGraph()
    previous: Any = CountingProducer()
    for _ in range(5):
        stage = PassThrough()
        graph.connect(previous, "output", stage, "input")
        previous = stage
    return graph


def build_tee() -> WorkflowGraph:
    """One producer feeding two consumers."""
    graph = WorkflowGraph()
    producer = CountingProducer()
    graph.connect(producer, "output", PassThrough(), "input")
    graph.connect(producer, "output", PassThrough(), "input")
    return graph


def build_producer_tee() -> WorkflowGraph:
    """prod → a → b; prod → c."""
    graph = WorkflowGraph()
    producer, first, second, other = CountingProducer(), PassThrough(), PassThrough(), PassThrough()
    graph.connect(producer, "output", first, "input")
    graph.connect(first, "output", second, "input")
    graph.connect(producer, "output", other, "input")
    return graph


def build_parallel_pipeline() -> WorkflowGraph:
    """prod → a → {b, c}."""
    graph = WorkflowGraph()
    producer, first = CountingProducer(), PassThrough()
    graph.connect(producer, "output", first, "input")
    graph.connect(first, "output", PassThrough(), "input")
    graph.connect(first, "output", PassThrough(), "input")
    return graph


def build_split_merge() -> WorkflowGraph:
    """prod(2 outputs) → a → merge.input0; prod → writer → merge.input1."""
    graph = WorkflowGraph()
    producer = CountingProducer(num_outputs=2)
    left, right, merge = PassThrough(), WriterPassThrough(), TwoInOneOut()
    graph.connect(producer, "output0", left, "input")
    graph.connect(producer, "output1", right, "input")
    graph.connect(left, "output", merge, "input0")
    graph.connect(right, "output", merge, "input1")
    return graph


def build_unconnected_pipelines() -> WorkflowGraph:
    """Two independent 3-stage pipelines in one graph."""
    graph = WorkflowGraph()
    for _ in range(2):
        previous: Any = CountingProducer()
        for _ in range(3):
            stage = PassThrough()
            graph.connect(previous, "output", stage, "input")
            previous = stage
    return graph


def add_two(x: Any) -> Any:
    return x + 2


def multiply_by(x: Any, factor: int = 4) -> Any:
    return x * factor


def divide_by_two(x: Any) -> Any:
    return x / 2


def subtract(x: Any, n: int = 1) -> Any:
    return x - n


def build_composite_chain() -> WorkflowGraph:
    """CountingProducer → create_iterative_chain(+2, *4, /2, -1) → fan-out to two."""
    graph = WorkflowGraph()
    chain = create_iterative_chain(
        [add_two, (multiply_by, {"factor": 4}), divide_by_two, (subtract, {"n": 1})]
    )
    graph.connect(CountingProducer(), "output", chain, "input")
    graph.connect(chain, "output", PassThrough(), "input")
    graph.connect(chain, "output", PassThrough(), "input")
    return graph


def build_large_tee() -> WorkflowGraph:
    """NumberProducer(N) → a → {b, c}: N² items on each branch for N calls."""
    graph = WorkflowGraph()
    producer, first = NumberProducer(N), PassThrough()
    graph.connect(producer, "output", first, "input")
    graph.connect(first, "output", PassThrough(), "input")
    graph.connect(first, "output", PassThrough(), "input")
    return graph


def build_broadcast() -> WorkflowGraph:
    """prod → consumer with 2 instances and grouping 'all'."""
    graph = WorkflowGraph()
    consumer = PassThrough()
    consumer.numprocesses = 2
    consumer.inputconnections["input"]["grouping"] = "all"
    graph.connect(CountingProducer(), "output", consumer, "input")
    return graph


def build_global() -> WorkflowGraph:
    """prod → a (5 instances) → Sequencer ('global': one instance)."""
    graph = WorkflowGraph()
    first, sequencer = PassThrough(), Sequencer()
    first.numprocesses = 5
    sequencer.inputconnections["input"]["grouping"] = "global"
    graph.connect(CountingProducer(), "output", first, "input")
    graph.connect(first, "output", sequencer, "input")
    return graph


def build_word_count() -> WorkflowGraph:
    """Seeded words → WordCounter (3 instances, group-by word)."""
    graph = WorkflowGraph()
    graph.connect(WordProducer(seed=7), "output", WordCounter(numprocesses=3), "input")
    return graph


def build_word_count_filter() -> WorkflowGraph:
    """Seeded words → filter (5 instances) → WordCounter (3 instances)."""
    graph = WorkflowGraph()
    word_filter = LengthFilter(parity=0, numprocesses=5)
    graph.connect(WordProducer(seed=11), "output", word_filter, "input")
    graph.connect(word_filter, "output", WordCounter(numprocesses=3), "input")
    return graph


def build_group_by_after_stages() -> WorkflowGraph:
    """Seeded words → 3 stages → WordCounter (2 instances)."""
    graph = WorkflowGraph()
    previous: Any = WordProducer(seed=3)
    for _ in range(3):
        stage = PassThrough()
        graph.connect(previous, "output", stage, "input")
        previous = stage
    graph.connect(previous, "output", WordCounter(numprocesses=2), "input")
    return graph


def build_grouped_split_merge() -> WorkflowGraph:
    """Words → {filter even, filter odd} → one replicated, grouped counter.

    The counter's input is fed by two connections: dispel4py hangs here.
    """
    graph = WorkflowGraph()
    words, counter = WordProducer(seed=5), WordCounter(numprocesses=3)
    even, odd = LengthFilter(parity=0), LengthFilter(parity=1)
    graph.connect(words, "output", even, "input")
    graph.connect(words, "output", odd, "input")
    graph.connect(even, "output", counter, "input")
    graph.connect(odd, "output", counter, "input")
    return graph


def build_even_odd() -> WorkflowGraph:
    """Numbers → {evens, odds} → a pairing PE with two inputs and state."""
    graph = WorkflowGraph()
    numbers, pairer = CountingProducer(), EvenOddPairer()
    evens, odds = ModFilter(2, 0), ModFilter(2, 1)
    graph.connect(numbers, "output", evens, "input")
    graph.connect(numbers, "output", odds, "input")
    graph.connect(evens, "output", pairer, "even")
    graph.connect(odds, "output", pairer, "odd")
    return graph


def build_global_sum() -> WorkflowGraph:
    """prod → GlobalSum ('global', writes in postprocess): given spare
    processes, a further instance of GlobalSum would add a ``[0, 0]``."""
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", GlobalSum(), "input")
    return graph


def build_postprocess_aggregate() -> WorkflowGraph:
    """Numbers → PartialSum (3 instances, emits in postprocess) → Total ('global')."""
    graph = WorkflowGraph()
    partial = PartialSum(numprocesses=3)
    graph.connect(CountingProducer(), "output", partial, "input")
    graph.connect(partial, "output", Total(), "input")
    return graph


def build_multi_write() -> WorkflowGraph:
    """Numbers → a PE writing three items per input → pass-through."""
    graph = WorkflowGraph()
    writer = MultiWriter()
    graph.connect(CountingProducer(), "output", writer, "input")
    graph.connect(writer, "output", PassThrough(), "input")
    return graph


def build_root_without_input() -> WorkflowGraph:
    """Two pipelines; the run's inputs name only the first producer."""
    return build_unconnected_pipelines()


class Doubler(IterativePE):
    """Returns ``2 * x``."""

    def _process(self, data: Any) -> Any:
        return 2 * data


def build_multi_edge() -> WorkflowGraph:
    """Two connections between the same ports: every item is delivered twice."""
    graph = WorkflowGraph()
    producer, doubler = CountingProducer(), Doubler()
    graph.connect(producer, "output", doubler, "input")
    graph.connect(producer, "output", doubler, "input")
    return graph


def build_process_override() -> WorkflowGraph:
    """A PE overriding ``process`` that returns on two outputs and writes a
    third (a result) → one pass-through per returned output."""
    graph = WorkflowGraph()
    splitter = ParitySplitter()
    graph.connect(CountingProducer(), "output", splitter, "input")
    graph.connect(splitter, "even", PassThrough(), "input")
    graph.connect(splitter, "odd", PassThrough(), "input")
    return graph


def build_none_filtering_chain() -> WorkflowGraph:
    """prod → keep x % 3 == 1 → double → keep x % 4 == 0 → pass: returning
    ``None`` emits nothing, at two points of one chain."""
    graph = WorkflowGraph()
    first, double, second, last = ModFilter(3, 1), Doubler(), ModFilter(4, 0), PassThrough()
    graph.connect(CountingProducer(), "output", first, "input")
    graph.connect(first, "output", double, "input")
    graph.connect(double, "output", second, "input")
    graph.connect(second, "output", last, "input")
    return graph


def build_block_pes() -> WorkflowGraph:
    """A block PE as the source and one in the middle (2 instances):
    BlockCounter → OddSquares → pass."""
    graph = WorkflowGraph()
    squares = OddSquares(numprocesses=2)
    graph.connect(BlockCounter(), "output", squares, "input")
    graph.connect(squares, "output", PassThrough(), "input")
    return graph


@dataclass(frozen=True)
class ConformanceCase:
    """A workflow, its inputs and what must hold of any mapping's result.

    ``expected`` (optional) is the exact ``simple`` result as multisets.
    ``broadcast`` names PEs whose input is broadcast: the results of those PEs
    are multiplied by their instance count. ``invariant`` names a check from
    :mod:`d4p_core.testing.checks` applied on top of the comparison with
    ``simple``; ``compare_multisets=False`` relies on the invariant only
    (results that legitimately depend on arrival order).
    """

    name: str
    build: Callable[[], WorkflowGraph]
    inputs: Inputs = N
    expected: dict[str, dict[str, list[Any]]] | None = None
    broadcast: tuple[str, ...] = ()
    invariant: str | None = None
    compare_multisets: bool = True
    notes: str = ""
    options: dict[str, Any] = field(default_factory=dict)


_numbers = list(range(1, N + 1))

CASES: tuple[ConformanceCase, ...] = (
    ConformanceCase("pipeline", build_pipeline, expected={"PassThrough5": {"output": _numbers}}),
    ConformanceCase(
        "tee",
        build_tee,
        expected={"PassThrough1": {"output": _numbers}, "PassThrough2": {"output": _numbers}},
    ),
    ConformanceCase(
        "producer_tee",
        build_producer_tee,
        expected={"PassThrough2": {"output": _numbers}, "PassThrough3": {"output": _numbers}},
    ),
    ConformanceCase(
        "parallel_pipeline",
        build_parallel_pipeline,
        expected={"PassThrough2": {"output": _numbers}, "PassThrough3": {"output": _numbers}},
    ),
    ConformanceCase(
        "split_merge",
        build_split_merge,
        expected={"TwoInOneOut3": {"output": [str(i) for i in _numbers] * 2}},
    ),
    ConformanceCase(
        "unconnected_pipelines",
        build_unconnected_pipelines,
        expected={"PassThrough3": {"output": _numbers}, "PassThrough7": {"output": _numbers}},
    ),
    ConformanceCase(
        "composite_chain",
        build_composite_chain,
        expected={
            "PassThrough2": {"output": [2.0 * i + 3 for i in _numbers]},
            "PassThrough3": {"output": [2.0 * i + 3 for i in _numbers]},
        },
    ),
    ConformanceCase(
        "large_tee",
        build_large_tee,
        expected={
            "PassThrough2": {"output": [f"{c}:{i}" for c in _numbers for i in range(N)]},
            "PassThrough3": {"output": [f"{c}:{i}" for c in _numbers for i in range(N)]},
        },
    ),
    ConformanceCase(
        "broadcast",
        build_broadcast,
        expected={"PassThrough1": {"output": _numbers}},
        broadcast=("PassThrough1",),
    ),
    ConformanceCase(
        "global",
        build_global,
        expected={"Sequencer2": {"output": [[i, i] for i in _numbers]}},
        compare_multisets=False,
        invariant="global_sequence",
        notes="values arrive in any order, but one instance numbers them 1..N",
    ),
    ConformanceCase("word_count", build_word_count, invariant="word_counts"),
    ConformanceCase("word_count_filter", build_word_count_filter, invariant="word_counts"),
    ConformanceCase("group_by_after_stages", build_group_by_after_stages, invariant="word_counts"),
    ConformanceCase("grouped_split_merge", build_grouped_split_merge, invariant="word_counts"),
    ConformanceCase(
        "even_odd_pairs",
        build_even_odd,
        invariant="even_odd_pairs",
        compare_multisets=False,
        notes="pairs depend on arrival order; every number is used exactly once",
    ),
    ConformanceCase(
        "global_sum",
        build_global_sum,
        expected={"GlobalSum1": {"output": [[sum(_numbers), N]]}},
        notes="one instance, whatever the processes: no idle copy reports an empty sum",
    ),
    ConformanceCase(
        "postprocess_aggregate",
        build_postprocess_aggregate,
        expected={"Total2": {"output": [sum(_numbers)]}},
    ),
    ConformanceCase(
        "multi_write",
        build_multi_write,
        expected={"PassThrough2": {"output": [i * 10 + k for i in _numbers for k in range(3)]}},
    ),
    ConformanceCase(
        "root_without_input",
        build_root_without_input,
        inputs={"CountingProducer0": N},
        expected={"PassThrough3": {"output": _numbers}, "PassThrough7": {"output": [1]}},
    ),
    ConformanceCase(
        "multi_edge",
        build_multi_edge,
        expected={"Doubler1": {"output": [2 * i for i in _numbers for _ in range(2)]}},
    ),
    ConformanceCase(
        "process_override",
        build_process_override,
        expected={
            "ParitySplitter1": {"all": _numbers},
            "PassThrough2": {"output": [i for i in _numbers if i % 2 == 0]},
            "PassThrough3": {"output": [i for i in _numbers if i % 2]},
        },
    ),
    ConformanceCase(
        "none_filtering_chain",
        build_none_filtering_chain,
        expected={"PassThrough4": {"output": [2 * i for i in _numbers if i % 6 == 4]}},
    ),
    ConformanceCase(
        "block_pes",
        build_block_pes,
        expected={"PassThrough2": {"output": [i * i for i in _numbers if i % 2]}},
    ),
)


def case_by_name(name: str) -> ConformanceCase:
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(f"no conformance case {name!r}; known: {', '.join(c.name for c in CASES)}")
