"""fan: a tee into 3 branches (i+1, 2i, 3i) merged into one two-input PE
(branches 1 and 2 on ``left``, branch 3 on ``right``) that counts and sums.

Result: 2N items on ``left`` and N on ``right`` with known sums.
"""

from __future__ import annotations

from typing import Any

from d4p_core import GenericPE, WorkflowGraph

from ._pes import Apply, Numbers, Workload

__all__ = ["Merge", "build", "graph"]


class Merge(GenericPE):
    """Two inputs; counts and sums each, reports in postprocess."""

    def __init__(self) -> None:
        super().__init__()
        self._add_input("left")
        self._add_input("right")
        self._add_output("result")
        self.totals = {"left": 0, "left_sum": 0, "right": 0, "right_sum": 0}

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        for port, value in inputs.items():
            self.totals[port] += 1
            self.totals[f"{port}_sum"] += int(value)
        return None

    def _postprocess(self) -> None:
        self.write("result", dict(self.totals))


def build(n: int = 10_000) -> Workload:
    g = WorkflowGraph()
    producer = Numbers()
    merge = Merge()
    for factor, offset, port in ((1, 1, "left"), (2, 0, "left"), (3, 0, "right")):
        branch = Apply(factor, offset)
        g.connect(producer, "output", branch, "input")
        g.connect(branch, "output", merge, port)
    return Workload("fan", g, n, n)


graph = build().graph
