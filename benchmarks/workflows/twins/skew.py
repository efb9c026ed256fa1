# mypy: ignore-errors
"""stream-d4py twin of ``benchmarks/workflows/skew.py``."""

from dispel4py.workflow_graph import WorkflowGraph

from benchmarks.workflows.twins._pes import CountingSink, Numbers, SkewedWork


def build():
    graph = WorkflowGraph()
    work = SkewedWork()
    graph.connect(Numbers(), "output", work, "input")
    graph.connect(work, "output", CountingSink(), "input")
    return graph


graph = build()
