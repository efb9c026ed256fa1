# mypy: ignore-errors
"""stream-d4py twin of ``benchmarks/workflows/cpu.py``."""

from dispel4py.workflow_graph import WorkflowGraph

from benchmarks.workflows.twins._pes import Burn, CountingSink, Numbers


def build():
    graph = WorkflowGraph()
    burn = Burn()
    graph.connect(Numbers(), "output", burn, "input")
    graph.connect(burn, "output", CountingSink(), "input")
    return graph


graph = build()
