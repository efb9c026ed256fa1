"""``d4p graph``: groupings on the edges, instance counts on the PEs, and
binary formats refused on a terminal (but written to a pipe or a file)."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from d4p_cli import ExitCode
from d4p_cli._graph_dot import labelled_dot
from d4p_cli._graphviz import render
from d4p_cli._topology import Topology
from d4p_cli_tests._helpers import error_line
from d4p_cli_tests.conftest import REPO
from d4p_core import GenericPE, WorkflowGraph
from d4p_core.backend import Plan
from d4p_core.testing import workflows
from d4p_core.testing.pes import CountingProducer

Runner = Callable[..., "CompletedProcess[str]"]
WORDCOUNT = "examples/wordcount.py"
needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")


def _dot(graph: WorkflowGraph, processes: int | None = None) -> str:
    return labelled_dot(graph, Topology.from_plan(Plan.build(graph, processes)))


def test_nodes_carry_the_instance_counts_of_the_plan(d4p: Runner) -> None:
    completed = d4p("graph", WORDCOUNT, "-n", "4")
    assert completed.returncode == 0, completed.stderr
    assert "RandomWord0\\n1\\ instance " in completed.stdout
    assert "CountWords1\\n3\\ instances " in completed.stdout
    assert '[label="group_by[0]"]' in completed.stdout


def test_without_processes_every_pe_has_one_instance(d4p: Runner) -> None:
    completed = d4p("graph", WORDCOUNT)
    assert completed.returncode == 0, completed.stderr
    assert "CountWords1\\n1\\ instance " in completed.stdout


@pytest.mark.parametrize(
    ("build", "grouping"),
    [
        (workflows.build_pipeline, "shuffle"),
        (workflows.build_word_count, "group_by[0]"),
        (workflows.build_broadcast, "broadcast"),
        (workflows.build_global, "global"),
    ],
)
def test_every_grouping_is_named_on_its_edge(
    build: Callable[[], WorkflowGraph], grouping: str
) -> None:
    source = _dot(build(), 8)
    edges = [line for line in source.splitlines() if " -> " in line]
    assert edges
    assert f'[label="{grouping}"]' in edges[-1], edges


def test_composites_stay_clusters_with_labels() -> None:
    source = _dot(workflows.build_composite_chain())
    assert "subgraph cluster_1" in source
    edges = [line for line in source.splitlines() if " -> " in line]
    # Every connection, inside the composite and across its border, is drawn once.
    assert len(edges) == len(workflows.build_composite_chain().flat().connections)
    assert all('[label="shuffle"]' in edge for edge in edges)


def test_too_few_processes_is_one_error_line(d4p: Runner) -> None:
    completed = d4p("graph", WORDCOUNT, "-n", "2")
    assert completed.returncode == ExitCode.GRAPH_ERROR
    assert "at least 4 processes" in error_line(completed.stderr)
    assert completed.stdout == ""


class _OddPorts(GenericPE):
    def __init__(self) -> None:
        super().__init__()
        self._add_input("in put")
        self._add_output('out"put|{x}')


@needs_graphviz
def test_port_names_with_record_syntax_render() -> None:
    graph = WorkflowGraph()
    odd, other = _OddPorts(), _OddPorts()
    graph.connect(CountingProducer(), "output", odd, "in put")
    graph.connect(odd, 'out"put|{x}', other, "in put")
    svg = render(_dot(graph), "svg").decode()
    assert "in put" in svg and "shuffle" in svg


@needs_graphviz
def test_svg_shows_groupings_and_instances(d4p: Runner, tmp_path: Path) -> None:
    target = tmp_path / "wordcount.svg"
    completed = d4p("graph", WORDCOUNT, "-n", "4", "-o", str(target))
    assert completed.returncode == 0, completed.stderr
    svg = target.read_text()
    assert "group_by[0]" in svg and "3 instances" in svg


def test_png_is_refused_on_a_terminal() -> None:
    """Written to a terminal a PNG garbles it: one line, exit 64, nothing on the tty
    (refused before Graphviz is looked for, so this runs without it)."""
    controller, terminal = pty.openpty()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "d4p_cli", "graph", WORDCOUNT, "--format", "png"],
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            timeout=60,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        readable, _, _ = select.select([controller], [], [], 0)
        written = b""
        if readable:
            try:
                written = os.read(controller, 65536)
            except OSError:  # EIO: the terminal's other end is closed and empty
                written = b""
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    assert completed.returncode == ExitCode.USAGE, completed.stderr
    line = error_line(completed.stderr)
    assert "terminal" in line and "-o FILE.png" in line
    assert written == b""


@needs_graphviz
def test_png_goes_to_a_pipe() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "d4p_cli", "graph", WORDCOUNT, "--format", "png"],
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith(b"\x89PNG\r\n\x1a\n")


def test_output_in_a_missing_directory(d4p: Runner, tmp_path: Path) -> None:
    completed = d4p("graph", WORDCOUNT, "-o", str(tmp_path / "missing" / "graph.dot"))
    assert completed.returncode == ExitCode.OUTPUT_FAILED
    assert "no such directory" in error_line(completed.stderr)
