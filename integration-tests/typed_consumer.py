"""A small downstream tool written against d4p's public, typed API.

CI checks this file with ``mypy --strict`` (it lives in a checked folder), so
if a public signature loses its types or changes shape, CI fails here — the
``assert_type`` calls pin the exact types a tool relies on.
``test_typed_consumer.py`` runs it, so it must also work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from d4p_core import (
    GenericPE,
    GroupBy,
    IterativePE,
    PEMetrics,
    ProducerPE,
    RunResult,
    WorkflowGraph,
    available_mappings,
    run,
)
from d4p_core.backend import Plan

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value: Any, _type: Any) -> Any:
        return value


class Numbers(ProducerPE):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def _process(self, inputs: dict[str, Any]) -> int:
        self.n += 1
        return self.n


class Parity(IterativePE):
    def _process(self, value: int) -> tuple[str, int]:
        return ("even" if value % 2 == 0 else "odd", value)


class SumByParity(GenericPE):
    def __init__(self) -> None:
        super().__init__(numprocesses=2)
        self._add_input("input", grouping=GroupBy([0]))
        self._add_output("output")
        self.sums: dict[str, int] = {}

    def _process(self, inputs: dict[str, Any]) -> None:
        parity, value = inputs["input"]
        self.sums[parity] = self.sums.get(parity, 0) + value

    def postprocess(self) -> None:
        for parity, total in sorted(self.sums.items()):
            self.write("output", (parity, total))


def build() -> WorkflowGraph:
    graph = WorkflowGraph()
    parity = Parity()
    graph.connect(Numbers(), "output", parity, "input")
    graph.connect(parity, "output", SumByParity(), "input")
    return graph


def describe_plan(graph: WorkflowGraph, processes: int) -> dict[str, int]:
    """Instances per PE, as a scheduler front-end would show them."""
    plan = Plan.build(graph, processes)
    assert_type(plan.pe_ids, tuple[str, ...])
    assert_type(plan.stateful, frozenset[str])
    return {pe_id: plan.instances[pe_id] for pe_id in plan.pe_ids}


def totals(mapping: str, items: int) -> dict[str, int]:
    """Run the graph and read the typed result."""
    result = run(build(), mapping, inputs=items, processes=3)
    assert_type(result, RunResult)
    assert_type(result.elapsed_seconds, float)
    metrics = result.metrics["SumByParity2"]
    assert_type(metrics, PEMetrics)
    assert metrics.items_in == items
    values: list[Any] = result.outputs["SumByParity2"]["output"]
    return {str(parity): int(total) for parity, total in values}


def main() -> dict[str, dict[str, int]]:
    """Totals on every installed local mapping that runs stateful graphs."""
    installed = available_mappings()
    stateful_capable = ("simple", "multi", "hybrid_multi")
    return {name: totals(name, 10) for name in stateful_capable if name in installed}


if __name__ == "__main__":
    print(describe_plan(build(), 4))
    print(main())
