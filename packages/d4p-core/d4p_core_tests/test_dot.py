"""Graphviz output: dot source and rendering."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from d4p_core import CompositePE, D4pError, WorkflowGraph
from d4p_core.model._dot import render_dot
from d4p_core_tests._pes import AddOne, Double, EvenOdd, Identity, Merge, NumberProducer

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' program is not installed")


def _pair(composite: CompositePE) -> None:
    first, second = AddOne(), Double()
    composite.connect(first, "output", second, "input")
    composite._map_input("input", first, "input")
    composite._map_output("output", second, "output")


def _graph() -> WorkflowGraph:
    graph = WorkflowGraph()
    source, split, merge = NumberProducer(), EvenOdd(), Merge()
    composite = CompositePE(_pair)
    graph.connect(source, "output", split, "input")
    graph.connect(split, "even", merge, "a")
    graph.connect(split, "odd", composite, "input")
    graph.connect(composite, "output", merge, "b")
    return graph


def _node_ids(source: str) -> dict[str, str]:
    """PE id -> dot node id."""
    return {
        match.group(2): match.group(1)
        for match in re.finditer(r"(\w+) \[label=\"\{ \{[^}]*\} \| (\w+) \|", source)
    }


def test_to_dot_is_a_digraph_with_every_pe_and_port() -> None:
    source = _graph().to_dot()
    assert source.startswith("digraph")
    assert source.rstrip().endswith("}")
    nodes = _node_ids(source)
    assert set(nodes) == {"NumberProducer0", "EvenOdd1", "Merge2", "AddOne0", "Double1"}
    for port in ("<out_even>", "<out_odd>", "<in_a>", "<in_b>", "<in_input>", "<out_output>"):
        assert port in source


def test_to_dot_draws_every_connection_on_its_ports() -> None:
    source = _graph().to_dot()
    nodes = _node_ids(source)
    expected = [
        f"{nodes['NumberProducer0']}:out_output -> {nodes['EvenOdd1']}:in_input;",
        f"{nodes['EvenOdd1']}:out_even -> {nodes['Merge2']}:in_a;",
        f"{nodes['EvenOdd1']}:out_odd -> {nodes['AddOne0']}:in_input;",
        f"{nodes['AddOne0']}:out_output -> {nodes['Double1']}:in_input;",
        f"{nodes['Double1']}:out_output -> {nodes['Merge2']}:in_b;",
    ]
    for edge in expected:
        assert edge in source
    assert source.count("->") == len(expected)


def test_to_dot_draws_composites_as_clusters() -> None:
    source = _graph().to_dot()
    assert source.count("subgraph cluster_") == 1
    cluster = source[source.index("subgraph cluster_") :]
    cluster = cluster[: cluster.index("}\n", cluster.index("Double1")) + 1]
    assert "AddOne0" in cluster and "Double1" in cluster
    assert "EvenOdd1" not in cluster


def test_nested_composites_are_nested_clusters() -> None:
    def wrap(outer: CompositePE) -> None:
        inner = CompositePE(_pair)
        outer._map_input("input", inner, "input")
        outer._map_output("output", inner, "output")

    graph = WorkflowGraph()
    graph.connect(NumberProducer(), "output", CompositePE(wrap), "input")
    source = graph.to_dot()
    assert source.count("subgraph cluster_") == 2
    assert source.index("subgraph cluster_1") < source.index("subgraph cluster_2")


def test_dot_escapes_record_characters_in_names() -> None:
    # In a quoted DOT string only backslash-quote is an escape; the record parser needs
    # exactly one backslash before { } | < > to take them literally.
    graph = WorkflowGraph()
    pe = Identity()
    pe.name = "odd{name}|x"
    graph.add(pe)
    source = graph.to_dot()
    assert "| odd\\{name\\}\\|x0 |" in source


def test_dot_escapes_backslashes_in_names() -> None:
    graph = WorkflowGraph()
    pe = Identity()
    pe.name = "back\\slash"
    graph.add(pe)
    assert "| back\\\\slash0 |" in graph.to_dot()


def test_render_dot_file(tmp_path: Path) -> None:
    graph = _graph()
    target = tmp_path / "graph.dot"
    graph.render(str(target))
    assert target.read_text(encoding="utf-8") == graph.to_dot()
    explicit = tmp_path / "graph.txt"
    graph.render(str(explicit), fmt="dot")
    assert explicit.read_text(encoding="utf-8") == graph.to_dot()


def test_render_image_without_dot_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(D4pError, match="dot"):
        _graph().render(str(tmp_path / "graph.png"))
    assert not (tmp_path / "graph.png").exists()


@needs_dot
def test_render_png(tmp_path: Path) -> None:
    target = tmp_path / "graph.png"
    _graph().render(str(target))
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@needs_dot
def test_render_svg(tmp_path: Path) -> None:
    target = tmp_path / "graph.svg"
    _graph().render(str(target), fmt="svg")
    text = target.read_text(encoding="utf-8")
    assert "<svg" in text
    assert "EvenOdd1" in text


@needs_dot
def test_render_with_bad_format_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(D4pError, match="dot failed"):
        render_dot(_graph().to_dot(), str(tmp_path / "graph.nosuchformat"))
