"""``d4p graph`` and ``d4p inspect``."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from d4p_cli import ExitCode
from d4p_cli_tests._helpers import error_line

Runner = Callable[..., "CompletedProcess[str]"]
WORDCOUNT = "examples/wordcount.py"


def test_graph_dot_on_stdout(d4p: Runner) -> None:
    completed = d4p("graph", WORDCOUNT)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("digraph workflow {")
    assert "RandomWord0" in completed.stdout and "CountWords1" in completed.stdout


def test_graph_dot_file(d4p: Runner, tmp_path: Path) -> None:
    target = tmp_path / "wordcount.dot"
    completed = d4p("graph", "d4p_core.testing.workflows:build_composite_chain", "-o", str(target))
    assert completed.returncode == 0, completed.stderr
    assert "subgraph cluster_" in target.read_text()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graph_svg(d4p: Runner, tmp_path: Path) -> None:
    target = tmp_path / "wordcount.svg"
    completed = d4p("graph", WORDCOUNT, "-o", str(target))
    assert completed.returncode == 0, completed.stderr
    assert "<svg" in target.read_text()


def test_graph_svg_without_graphviz(d4p: Runner, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    completed = d4p("graph", WORDCOUNT, "--format", "svg", env={"PATH": str(empty)})
    assert completed.returncode == ExitCode.ERROR, completed.stderr
    assert "Graphviz" in error_line(completed.stderr)
    assert sys.executable  # the interpreter is called by its full path, PATH is not needed


def test_graph_unknown_extension(d4p: Runner, tmp_path: Path) -> None:
    completed = d4p("graph", WORDCOUNT, "-o", str(tmp_path / "graph.xyz"))
    assert completed.returncode == ExitCode.USAGE
    assert "--format" in error_line(completed.stderr)


def test_inspect_default_plan(d4p: Runner) -> None:
    completed = d4p("inspect", WORDCOUNT)
    assert completed.returncode == 0, completed.stderr
    assert "RandomWord0: 1 instance(s) [source]" in completed.stdout
    assert "CountWords1.input (group_by[0]" in completed.stdout
    assert "partitions:" in completed.stdout


def test_inspect_with_processes_and_mapping(d4p: Runner) -> None:
    completed = d4p("inspect", WORDCOUNT, "-n", "4", "-m", "multi")
    assert completed.returncode == 0, completed.stderr
    assert "CountWords1: 3 instance(s) [stateful]" in completed.stdout
    assert "mapping multi: can run this plan" in completed.stdout


def test_inspect_shows_the_placement_the_mapping_runs(d4p: Runner) -> None:
    # -n 2 is fewer processes than the plan's 4 instances: multi fuses chains,
    # and inspect shows the partitions run uses, not a refusal.
    completed = d4p("inspect", WORDCOUNT, "-n", "2", "-m", "multi")
    assert completed.returncode == 0, completed.stderr
    assert "placement: 2 process(es)" in completed.stdout
    processes = [line for line in completed.stdout.splitlines() if "  process " in line]
    assert len(processes) == 2
    hosted = ", ".join(line.split(": ", 1)[1] for line in processes)
    assert "RandomWord0[0]" in hosted and "CountWords1[0]" in hosted


def test_inspect_dynamic_mapping_refuses_state(d4p: Runner) -> None:
    completed = d4p("inspect", WORDCOUNT, "-m", "dyn_multi")
    assert completed.returncode == ExitCode.UNSUPPORTED_GRAPH
    assert "CountWords1" in error_line(completed.stderr)


def test_inspect_unsupported(d4p_with_test_mappings: Runner) -> None:
    completed = d4p_with_test_mappings("inspect", WORDCOUNT, "-m", "test_echo")
    assert completed.returncode == ExitCode.UNSUPPORTED_GRAPH
    assert "CountWords1" in error_line(completed.stderr)


def test_inspect_unknown_mapping(d4p: Runner) -> None:
    completed = d4p("inspect", WORDCOUNT, "-m", "nope")
    assert completed.returncode == ExitCode.MAPPING_NOT_FOUND
    assert "nope" in error_line(completed.stderr)
