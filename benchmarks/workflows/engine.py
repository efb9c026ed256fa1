"""The engine study's d4p pipelines (``benchmarks/_engine_probe.py``): the
per-item dispel4py API and the block API on the same work. Module level, so
every mapping's workers can import them. ``Numbers`` and ``Apply`` are the
throughput workload's PEs."""

from __future__ import annotations

from typing import Any

from d4p_core import BlockPE, ConsumerPE, IterativePE, WorkflowGraph

from ._common import TRIVIAL_STAGES, burn, medium_loops
from ._pes import Apply, Numbers

__all__ = ["build"]


class Work(IterativePE):
    def __init__(self) -> None:
        super().__init__()
        self.loops = medium_loops()

    def _process(self, data: int) -> int:
        burn(self.loops)
        return data


class Sink(ConsumerPE):
    def __init__(self) -> None:
        super().__init__()
        self._add_output("result")
        self.count = self.total = 0

    def _process(self, data: int) -> None:
        self.count += 1
        self.total += data

    def _postprocess(self) -> None:
        self.write("result", [self.count, self.total])


class BlockNumbers(BlockPE[Any, int]):
    def __init__(self) -> None:
        super().__init__()
        self.next_value = 0

    def process_block(self, values: list[Any]) -> range:
        start = self.next_value
        self.next_value += len(values)
        return range(start, self.next_value)


class BlockApply(BlockPE[int, int]):
    def __init__(self, factor: int, offset: int) -> None:
        super().__init__()
        self.factor, self.offset = factor, offset

    def process_block(self, values: list[int]) -> list[int]:
        factor, offset = self.factor, self.offset
        return [x * factor + offset for x in values]


class BlockSink(BlockPE[int, list[int]]):
    def __init__(self) -> None:
        super().__init__()
        self.count = self.total = 0

    def process_block(self, values: list[int]) -> None:
        self.count += len(values)
        self.total += sum(values)

    def _postprocess(self) -> None:
        self.write("output", [self.count, self.total])


def build(pipeline: str, block: bool) -> WorkflowGraph:
    """``trivial``: source -> +1 -> x2 -> -2 -> count/sum sink; ``medium``:
    source -> two stages of ~10 us of work -> sink (per-item API only)."""
    source: Any
    if pipeline == "trivial":
        source = BlockNumbers() if block else Numbers()
        stages: list[Any] = [(BlockApply if block else Apply)(f, o) for f, o in TRIVIAL_STAGES]
    else:
        source, stages = Numbers(), [Work(), Work()]
    sink = BlockSink() if block else Sink()
    graph = WorkflowGraph()
    previous: Any = source
    for stage in [*stages, sink]:
        graph.connect(previous, "output", stage, "input")
        previous = stage
    return graph
