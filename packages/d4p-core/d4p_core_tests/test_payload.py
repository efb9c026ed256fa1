"""What a payload carries besides the pickled PEs."""

from __future__ import annotations

from pathlib import Path

from d4p_core import load_graph, run
from d4p_core.backend import GraphPayload

WORKFLOW = """
from d4p_core import IterativePE, WorkflowGraph
from d4p_core.testing.pes import CountingProducer


class Tripler{n}(IterativePE):
    def _process(self, value):
        return value * 3


graph = WorkflowGraph()
graph.connect(CountingProducer(), "output", Tripler{n}(), "input")
"""


def test_only_the_workflow_files_its_pes_come_from_travel(tmp_path: Path) -> None:
    """A workflow file loaded earlier (a notebook, a test session) is not
    re-run in the workers of later runs: here it could not even be read."""
    first, second = tmp_path / "first.py", tmp_path / "second.py"
    first.write_text(WORKFLOW.format(n=1))
    second.write_text(WORKFLOW.format(n=2))
    load_graph(str(first))
    graph = load_graph(str(second))
    first.unlink()
    payload = GraphPayload.create(graph.flat().by_id(), "multi", "spawn")
    assert [path for _, path in payload.modules] == [str(second.resolve())]
    result = run(graph, "multi", inputs=3, processes=2, start_method="spawn")
    assert sorted(result.outputs["Tripler21"]["output"]) == [3, 6, 9]
