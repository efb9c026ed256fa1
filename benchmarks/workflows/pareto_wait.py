"""pareto_wait: the items and costs of ``pareto`` (0.5 ms x Pareto(1.3),
capped at 300 ms), spent *waiting* instead of computing — a task that calls a
remote service or reads a slow disk. The cores stay idle while items wait, so
more processes than cores can shorten the run: what separates an elastic pool
from a fixed placement when the machine is not the limit.

Result: count N and sum of the item numbers.
"""

from __future__ import annotations

import time
from typing import Any

from d4p_core import IterativePE

from . import pareto
from ._pes import Workload

__all__ = ["ParetoWait", "build"]


class ParetoWait(IterativePE):
    """Waits ``cost_ms(item)`` and passes the item on."""

    def _process(self, data: Any) -> Any:
        time.sleep(pareto.cost_ms(int(data)) / 1000.0)
        return data


def build(n: int = 2000) -> Workload:
    return pareto.build(n, ParetoWait(), "pareto_wait")


graph = build().graph
