# mypy: ignore-errors
"""stream-d4py twin of ``benchmarks/workflows/fan.py``."""

from dispel4py.workflow_graph import WorkflowGraph

from benchmarks.workflows.twins._pes import Apply, Merge, Numbers


def build():
    graph = WorkflowGraph()
    producer = Numbers()
    merge = Merge()
    for factor, offset, port in ((1, 1, "left"), (2, 0, "left"), (3, 0, "right")):
        branch = Apply(factor, offset)
        graph.connect(producer, "output", branch, "input")
        graph.connect(branch, "output", merge, port)
    return graph


graph = build()
