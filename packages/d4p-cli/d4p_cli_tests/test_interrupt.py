"""Ctrl-C in a terminal: one line, exit 130, no worker traceback, nothing left.

A terminal sends SIGINT to the whole foreground process group, so every
worker receives it too; the workers ignore it and the driver stops them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from d4p_core.testing.processes import interrupt_like_a_terminal, subprocess_env

HANGING_WORKFLOW = """
import os

from d4p_core import WorkflowGraph
from d4p_core.testing.pes import CountingProducer, Hangs

graph = WorkflowGraph()
graph.connect(CountingProducer(), "output", Hangs(os.environ["D4P_TEST_ENTERED"]), "input")
"""

LOCAL_RUNS = [
    ["multi", "-n", "3"],
    ["multi", "-n", "3", "--start-method", "spawn"],
    ["dyn_multi", "-n", "3"],
    ["dyn_auto_multi", "-n", "3"],
    ["hybrid_multi", "-n", "3"],
]


@pytest.mark.parametrize("run", LOCAL_RUNS, ids=" ".join)
def test_ctrl_c_prints_one_line_and_leaves_nothing(run: list[str], tmp_path: Path) -> None:
    workflow = tmp_path / "hangs.py"
    workflow.write_text(HANGING_WORKFLOW)
    entered = tmp_path / "entered"
    ended = interrupt_like_a_terminal(
        [sys.executable, "-m", "d4p_cli", "run", run[0], str(workflow), "-i", "3", *run[1:]],
        entered,
        env=subprocess_env(D4P_TEST_ENTERED=str(entered)),
    )
    assert ended.returncode == 130, ended.stderr
    assert ended.stderr == "d4p: interrupted\n"
    assert ended.stdout == ""
    assert ended.left_running == []
