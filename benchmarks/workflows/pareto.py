"""pareto: the heavy-tailed skew workload of issue 20 — item i costs
0.5 ms x Pareto(alpha 1.3), capped at 300 ms (seeded, a pure function of i),
burnt as pure-Python CPU. Most items are cheap, a few cost 100-600 times
the median: a fixed placement leaves workers idle behind the heavy ones, an
elastic pool can retire them.

Result: count N and sum of the item numbers.
"""

from __future__ import annotations

import random
from typing import Any

from d4p_core import IterativePE, WorkflowGraph

from . import _common
from ._pes import CountingSink, Numbers, Workload

__all__ = ["PARETO_ALPHA", "PARETO_CAP_MS", "PARETO_SCALE_MS", "ParetoWork", "build", "cost_ms"]

PARETO_SCALE_MS = 0.5
PARETO_ALPHA = 1.3
PARETO_CAP_MS = 300.0
PARETO_SEED = 20261205


def cost_ms(index: int, seed: int = PARETO_SEED) -> float:
    """The cost of item ``index`` in milliseconds."""
    rng = random.Random(seed * 1_000_003 + index)
    return min(PARETO_CAP_MS, PARETO_SCALE_MS * rng.paretovariate(PARETO_ALPHA))


def profile(n: int) -> dict[str, float]:
    """Total, mean and largest cost (ms) of the first ``n`` items."""
    costs = [cost_ms(i) for i in range(n)]
    return {"total_ms": sum(costs), "mean_ms": sum(costs) / max(1, n), "max_ms": max(costs)}


class ParetoWork(IterativePE):
    """Burns ``cost_ms(item)`` of CPU and passes the item on."""

    def __init__(self) -> None:
        super().__init__()
        self.loops_per_ms = _common.loops_per_ms()

    def _process(self, data: Any) -> Any:
        _common.burn(int(self.loops_per_ms * cost_ms(int(data))))
        return data


def build(n: int = 2000, work: IterativePE | None = None, name: str = "pareto") -> Workload:
    """Numbers -> ``work`` (default: :class:`ParetoWork`) -> a counting sink."""
    g = WorkflowGraph()
    stage = work if work is not None else ParetoWork()
    g.connect(Numbers(), "output", stage, "input")
    g.connect(stage, "output", CountingSink(), "input")
    return Workload(name, g, n, n)


graph = build().graph
