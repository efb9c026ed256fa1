"""Loading a workflow graph from a module, a .py file or module:attr."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from d4p_core import GraphError, WorkflowGraph, find_graph, load_graph, load_module

HEADER = """\
from d4p_core import CompositePE, IterativePE, ProducerPE, WorkflowGraph, create_iterative_chain

class Src(ProducerPE):
    def _process(self, inputs):
        return 1

class Inc(IterativePE):
    def _process(self, data):
        return data + 1

def _inner(composite):
    pe = Inc()
    composite._map_input("input", pe, "input")
    composite._map_output("output", pe, "output")
"""

ONE_GRAPH = """
composite = CompositePE(_inner)
chain = create_iterative_chain([abs])
graph = WorkflowGraph()
graph.connect(Src(), "output", composite, "input")
graph.connect(composite, "output", chain, "input")
same_graph_again = graph
"""

TWO_GRAPHS = """
first = WorkflowGraph()
first.add(Src())
second = WorkflowGraph()
second.connect(Src(), "output", Inc(), "input")

def build():
    g = WorkflowGraph()
    g.add(Inc())
    return g

not_a_graph = 42
"""

NO_GRAPH = """
composite = CompositePE(_inner)
value = 3
"""

WorkflowFactory = Callable[[str, str], Path]


@pytest.fixture
def workflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[WorkflowFactory]:
    """Write ``<unique name>.py`` in a fresh directory; sys.path/modules are restored."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    created: list[str] = []
    prefix = "wf_" + "".join(c if c.isalnum() else "_" for c in request.node.name)

    def write(suffix: str, body: str) -> Path:
        name = f"{prefix}_{suffix}"
        path = tmp_path / f"{name}.py"
        path.write_text(HEADER + textwrap.dedent(body), encoding="utf-8")
        created.append(name)
        return path

    yield write
    for name in created:
        sys.modules.pop(name, None)


def test_load_py_path(workflow: WorkflowFactory) -> None:
    path = workflow("one", ONE_GRAPH)
    graph = load_graph(str(path))
    module = sys.modules[path.stem]
    assert graph is module.graph
    assert len(graph.flat().pes) == 3


def test_load_dotted_module(workflow: WorkflowFactory) -> None:
    path = workflow("dotted", ONE_GRAPH)
    sys.path.insert(0, str(path.parent))
    graph = load_graph(path.stem)
    assert graph is sys.modules[path.stem].graph


def test_load_dotted_module_inside_a_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    package = tmp_path / "wf_pkg_loader_test"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "flow.py").write_text(HEADER + ONE_GRAPH, encoding="utf-8")
    try:
        graph = load_graph("wf_pkg_loader_test.flow")
        assert graph is sys.modules["wf_pkg_loader_test.flow"].graph
        with pytest.raises(GraphError, match="no module named"):
            load_graph("wf_pkg_loader_test.missing")
    finally:
        sys.modules.pop("wf_pkg_loader_test.flow", None)
        sys.modules.pop("wf_pkg_loader_test", None)


def test_module_colon_attr(workflow: WorkflowFactory) -> None:
    path = workflow("attr", TWO_GRAPHS)
    module_first = load_graph(f"{path}:first")
    assert module_first is sys.modules[path.stem].first
    sys.path.insert(0, str(path.parent))
    assert load_graph(f"{path.stem}:second") is sys.modules[path.stem].second


def test_attr_argument(workflow: WorkflowFactory) -> None:
    path = workflow("a", TWO_GRAPHS)
    assert load_graph(str(path), "second") is sys.modules[path.stem].second


def test_attr_may_be_a_function_building_the_graph(workflow: WorkflowFactory) -> None:
    path = workflow("fn", TWO_GRAPHS)
    graph = load_graph(str(path), "build")
    assert isinstance(graph, WorkflowGraph)
    assert [pe.name for pe in graph.flat().pes] == ["Inc"]


def test_attr_errors(workflow: WorkflowFactory) -> None:
    path = workflow("bad_attr", TWO_GRAPHS)
    with pytest.raises(GraphError, match="no attribute 'missing'"):
        load_graph(str(path), "missing")
    with pytest.raises(GraphError, match="not a WorkflowGraph"):
        load_graph(str(path), "not_a_graph")


def test_no_graph_is_a_graph_error(workflow: WorkflowFactory) -> None:
    path = workflow("none", NO_GRAPH)
    with pytest.raises(GraphError, match="defines no workflow graph"):
        load_graph(str(path))


def test_several_graphs_are_listed(workflow: WorkflowFactory) -> None:
    path = workflow("two", TWO_GRAPHS)
    with pytest.raises(GraphError) as info:
        load_graph(str(path))
    message = str(info.value)
    assert "first" in message and "second" in message
    assert "-a" in message


def test_composites_and_aliases_are_not_counted(workflow: WorkflowFactory) -> None:
    path = workflow("composites", ONE_GRAPH)
    module = load_module(str(path))
    assert find_graph(module) is module.graph


def test_graph_used_inside_another_is_not_counted(workflow: WorkflowFactory) -> None:
    path = workflow(
        "nested",
        """
        inner = WorkflowGraph()
        inner.inputmappings = None
        outer = WorkflowGraph()
        outer.add(Src())
        """,
    )
    module = load_module(str(path))
    module.outer.add(module.inner)
    assert find_graph(module) is module.outer


def test_missing_module_is_a_graph_error() -> None:
    with pytest.raises(GraphError, match="no module named 'd4p_no_such_module_xyz'"):
        load_graph("d4p_no_such_module_xyz")


def test_missing_file_is_a_graph_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing_workflow.py"
    with pytest.raises(GraphError, match="no such file"):
        load_graph(str(missing))
    with pytest.raises(GraphError, match="no such file"):
        load_graph(f"{missing}:graph")


def test_import_error_inside_the_workflow_is_not_hidden(workflow: WorkflowFactory) -> None:
    path = workflow("broken", "import d4p_no_such_dependency_xyz\n")
    with pytest.raises(ModuleNotFoundError, match="d4p_no_such_dependency_xyz"):
        load_graph(str(path))
    assert path.stem not in sys.modules


def test_loading_a_file_twice_reuses_the_module(workflow: WorkflowFactory) -> None:
    path = workflow("twice", ONE_GRAPH)
    first = load_graph(str(path))
    assert load_graph(str(path)) is first
    ids = [pe.id for pe in first.flat().pes]
    assert [pe.id for pe in load_graph(str(path)).flat().pes] == ids


def test_a_graph_of_the_real_dispel4py_is_named_with_the_way_out() -> None:
    # What a workflow module holds when the real dispel4py is installed (the
    # compatibility layer then stands aside): its own WorkflowGraph class.
    import types

    real = type("WorkflowGraph", (), {"__module__": "dispel4py.workflow_graph"})
    module = types.ModuleType("old_workflow")
    module.graph = real()  # type: ignore[attr-defined]
    with pytest.raises(GraphError, match=r"real dispel4py.*pip uninstall stream-d4py"):
        find_graph(module)
    with pytest.raises(GraphError, match=r"old_workflow\.graph is a graph of the real dispel4py"):
        find_graph(module, "graph")
