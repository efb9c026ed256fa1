"""PEs shared by the d4p workloads."""

from __future__ import annotations

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
    from ``postprocess`` on its unconnected output ``result``."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("input")
        self._add_output("result")
        self.count = 0
        self.total = 0

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        value = inputs["input"]
        self.count += 1
        self.total += value if isinstance(value, int) else int(value[0])
        return None

    def _postprocess(self) -> None:
        self.write("result", {"count": self.count, "sum": self.total})


def partials(outputs: dict[str, dict[str, list[Any]]]) -> list[dict[str, Any]]:
    """Every partial result written on a ``result`` output."""
    found: list[dict[str, Any]] = []
    for by_output in outputs.values():
        found.extend(v for v in by_output.get("result", []) if isinstance(v, dict))
    return found


def loops_for(ms: float) -> int:
    return max(1, int(_common.loops_per_ms() * ms))
