# mypy: ignore-errors
"""stream-d4py twin of ``benchmarks/workflows/wordcount.py``."""

from dispel4py.workflow_graph import WorkflowGraph

from benchmarks.workflows.twins._pes import CountWords, Words


def build():
    graph = WorkflowGraph()
    graph.connect(Words(), "output", CountWords(), "input")
    return graph


graph = build()
