"""PEs shared by the d4p workloads."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from d4p_core import GenericPE, IterativePE, ProducerPE, WorkflowGraph

from . import _common

__all__ = ["CountingSink", "Numbers", "Workload"]


@dataclass(frozen=True)
class Workload:
    """A graph and the inputs that make it process ``n`` items."""

    name: str
    graph: WorkflowGraph
    inputs: int
    n: int


class Numbers(ProducerPE):
    """Emits 0, 1, 2, ... one per call (a source: one pinned instance)."""

    def __init__(self) -> None:
        super().__init__()
        self.next_value = 0

    def _process(self, inputs: Any) -> int:
        value = self.next_value
        self.next_value += 1
        return value


class Apply(IterativePE):
    """A cheap stateless stage: ``x * factor + offset``."""

    def __init__(self, factor: int, offset: int) -> None:
        super().__init__()
        self.factor = factor
        self.offset = offset

    def _process(self, data: Any) -> int:
        value: int = data * self.factor + self.offset
        return value


class CountingSink(GenericPE):
    """Counts and sums what arrives; reports one partial result per instance
    from ``postprocess`` on its unconnected output ``result``.

    The partial also carries when the last item arrived, ``last_wall``
    (``time.time()``, comparable across processes) and ``last_perf``
    (``time.perf_counter()``, for the one-process ``simple``), so the runner
    can measure a mapping's tail: last item processed -> ``run()`` returns.
    """

    def __init__(self) -> None:
        super().__init__()
        self._add_input("input")
        self._add_output("result")
        self.count = 0
        self.total = 0
        self.last_wall = 0.0
        self.last_perf = 0.0

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        value = inputs["input"]
        self.count += 1
        self.total += value if isinstance(value, int) else int(value[0])
        self.last_wall = time.time()
        self.last_perf = time.perf_counter()
        return None

    def _postprocess(self) -> None:
        partial: dict[str, float] = {"count": self.count, "sum": self.total}
        if self.count:
            partial.update(last_wall=self.last_wall, last_perf=self.last_perf)
        self.write("result", partial)


def partials(outputs: dict[str, dict[str, list[Any]]]) -> list[dict[str, Any]]:
    """Every partial result written on a ``result`` output."""
    found: list[dict[str, Any]] = []
    for by_output in outputs.values():
        found.extend(v for v in by_output.get("result", []) if isinstance(v, dict))
    return found


def loops_for(ms: float) -> int:
    return max(1, int(_common.loops_per_ms() * ms))
