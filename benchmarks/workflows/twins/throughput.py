# mypy: ignore-errors
"""stream-d4py twin of ``benchmarks/workflows/throughput.py``."""

from dispel4py.workflow_graph import WorkflowGraph

from benchmarks.workflows.twins._pes import Apply, CountingSink, Numbers


def build():
    graph = WorkflowGraph()
    producer = Numbers()
    plus_one, double, minus_two = Apply(1, 1), Apply(2, 0), Apply(1, -2)
    sink = CountingSink()
    graph.connect(producer, "output", plus_one, "input")
    graph.connect(plus_one, "output", double, "input")
    graph.connect(double, "output", minus_two, "input")
    graph.connect(minus_two, "output", sink, "input")
    return graph


graph = build()
