"""stdout is data only: what PEs print or log goes to stderr, prefixed with
the PE instance; the log level is chosen with -v/-q/--log-level."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from d4p_core import available_mappings
from d4p_core.testing.processes import subprocess_env

TALKING_WORKFLOW = """
from d4p_core import IterativePE, ProducerPE, WorkflowGraph


class Numbers(ProducerPE):
    def _process(self, inputs):
        for number in range(4):
            self.write("output", number)


class Talker(IterativePE):
    def _process(self, value):
        print("printed", value)
        self.log(f"logged {value}")
        return value


graph = WorkflowGraph()
graph.connect(Numbers(), "output", Talker(), "input")
"""

MAPPINGS = ["simple", "multi", "dyn_multi", "hybrid_multi", "zmq_multi", "mpi"]


def _run(tmp_path: Path, mapping: str, *flags: str) -> subprocess.CompletedProcess[str]:
    if mapping not in available_mappings():
        pytest.skip(f"{mapping} is not installed")
    workflow = tmp_path / "talking.py"
    workflow.write_text(TALKING_WORKFLOW)
    return subprocess.run(
        [sys.executable, "-m", "d4p_cli", "run", mapping, str(workflow), "-n", "3", *flags],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("mapping", MAPPINGS)
def test_prints_and_log_lines_go_to_stderr_prefixed(tmp_path: Path, mapping: str) -> None:
    completed = _run(tmp_path, mapping)
    assert completed.returncode == 0, completed.stderr
    records = [json.loads(line) for line in completed.stdout.splitlines()]
    assert sorted(record["value"] for record in records) == [0, 1, 2, 3]
    lines = completed.stderr.splitlines()
    for number in range(4):
        assert any(
            line.startswith("Talker1 (rank ") and line.endswith(f": printed {number}")
            for line in lines
        ), completed.stderr
        assert any(line.endswith(f": logged {number}") for line in lines), completed.stderr


@pytest.mark.parametrize(
    ("flags", "logged"),
    [((), True), (("-q",), False), (("--log-level", "ERROR"), False), (("-v",), True)],
    ids=["default", "quiet", "log-level error", "verbose"],
)
def test_the_log_level_decides_which_log_lines_show(
    tmp_path: Path, flags: tuple[str, ...], logged: bool
) -> None:
    completed = _run(tmp_path, "multi", *flags)
    assert completed.returncode == 0, completed.stderr
    assert ("logged 2" in completed.stderr) is logged, completed.stderr
    assert "printed 2" in completed.stderr  # prints are the PE's own output: always shown
