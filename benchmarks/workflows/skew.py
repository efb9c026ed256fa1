"""skew: item costs from a seeded heavy-tailed distribution (mean ~5 ms, a few
items 500 ms = 100x), burnt as pure-Python CPU. Shows how dynamic and
autoscaling mappings balance load (makespan and worker-seconds).

Result: count N and sum of the item numbers.
"""

from __future__ import annotations

from typing import Any

from d4p_core import IterativePE, WorkflowGraph

from . import _common
from ._pes import CountingSink, Numbers, Workload

__all__ = ["SkewedWork", "build", "graph"]


class SkewedWork(IterativePE):
    """Burns ``skew_cost_ms(item)`` of CPU and passes the item on."""

    def __init__(self) -> None:
        super().__init__()
        self.loops_per_ms = _common.loops_per_ms()

    def _process(self, data: Any) -> Any:
        _common.burn(int(self.loops_per_ms * _common.skew_cost_ms(int(data))))
        return data


def build(n: int = 400) -> Workload:
    g = WorkflowGraph()
    g.connect(Numbers(), "output", work := SkewedWork(), "input")
    g.connect(work, "output", CountingSink(), "input")
    return Workload("skew", g, n, n)


graph = build().graph
