"""throughput: a producer emits N ints -> 3 cheap stateless stages -> a counting sink.

Measures per-item overhead of a mapping (transport, routing, batching).
Result: count N and sum of 2*i.
"""

from __future__ import annotations

from d4p_core import WorkflowGraph

from ._pes import Apply, CountingSink, Numbers, Workload

__all__ = ["build", "graph"]


def build(n: int = 10_000) -> Workload:
    g = WorkflowGraph()
    producer = Numbers()
    plus_one, double, minus_two = Apply(1, 1), Apply(2, 0), Apply(1, -2)
    sink = CountingSink()
    g.connect(producer, "output", plus_one, "input")
    g.connect(plus_one, "output", double, "input")
    g.connect(double, "output", minus_two, "input")
    g.connect(minus_two, "output", sink, "input")
    return Workload("throughput", g, n, n)


graph = build().graph
