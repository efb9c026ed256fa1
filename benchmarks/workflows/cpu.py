"""cpu: N items through one stateless stage that burns ~2 ms of pure-Python CPU
per item (loops calibrated once by the runner), to measure speed-up.

Result: count N and sum of the item numbers.
"""

from __future__ import annotations

from typing import Any

from d4p_core import IterativePE, WorkflowGraph

from . import _common
from ._pes import CountingSink, Numbers, Workload, loops_for

__all__ = ["Burn", "build", "graph"]


class Burn(IterativePE):
    """Spends a fixed amount of CPU per item and passes the item on."""

    def __init__(self, ms: float = _common.CPU_ITEM_MS) -> None:
        super().__init__()
        self.loops = loops_for(ms)

    def _process(self, data: Any) -> Any:
        _common.burn(self.loops)
        return data


def build(n: int = 500) -> Workload:
    g = WorkflowGraph()
    g.connect(Numbers(), "output", burn := Burn(), "input")
    g.connect(burn, "output", CountingSink(), "input")
    return Workload("cpu", g, n, n)


graph = build().graph
