"""burst: a burst of costly items, then a long light tail — the shape an
elastic pool should follow (grow for the burst, shrink for the tail).

The first 80% of the N items arrive as fast as the source can emit them
(one every 2 ms) and cost 20 ms of CPU each; the last 20% arrive one every
50 ms and cost 1 ms. Every source call takes at least 2 ms, so the engine
never gathers many calls into one chunk (which would hold the tail's items
back until the chunk ends).

Result: count N and sum of the item numbers.
"""

from __future__ import annotations

import time
from typing import Any

from d4p_core import IterativePE, ProducerPE, WorkflowGraph

from . import _common
from ._pes import CountingSink, Workload

__all__ = ["BurstSource", "BurstWork", "build"]

BURST_SHARE = 0.8
BURST_GAP_S = 0.002
TAIL_GAP_S = 0.05
BURST_COST_MS = 20.0
TAIL_COST_MS = 1.0


class BurstSource(ProducerPE):
    """Emits 0 .. n-1, one per call: quickly for the burst, slowly after."""

    def __init__(self, burst: int) -> None:
        super().__init__()
        self.burst = burst
        self.next_value = 0

    def _process(self, inputs: Any) -> int:
        value = self.next_value
        self.next_value += 1
        time.sleep(BURST_GAP_S if value < self.burst else TAIL_GAP_S)
        return value


class BurstWork(IterativePE):
    """Burns the item's cost (burst or tail) and passes the item on."""

    def __init__(self, burst: int) -> None:
        super().__init__()
        self.burst = burst
        self.loops_per_ms = _common.loops_per_ms()

    def _process(self, data: Any) -> Any:
        cost = BURST_COST_MS if int(data) < self.burst else TAIL_COST_MS
        _common.burn(int(self.loops_per_ms * cost))
        return data


def build(n: int = 500) -> Workload:
    burst = int(n * BURST_SHARE)
    g = WorkflowGraph()
    g.connect(BurstSource(burst), "output", work := BurstWork(burst), "input")
    g.connect(work, "output", CountingSink(), "input")
    return Workload("burst", g, n, n)


graph = build().graph
