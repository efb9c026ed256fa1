"""`d4p run` writes each result as it arrives: `| head` ends the run at
once, and memory does not grow with the number of results."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from d4p_core import available_mappings
from d4p_core.testing.processes import subprocess_env

MANY_RESULTS = """
from d4p_core import IterativePE, ProducerPE, WorkflowGraph


class Numbers(ProducerPE):
    def _process(self, inputs):
        for number in range(1000):
            self.write("output", number)


class Increment(IterativePE):
    def _process(self, value):
        return value + 1


graph = WorkflowGraph()
graph.connect(Numbers(), "output", Increment(), "input")
"""

# Runs the command and prints its peak RSS (KiB), as the kernel counted it.
PEAK_RSS = textwrap.dedent(
    """
    import resource, subprocess, sys
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    """
)


def _workflow(tmp_path: Path) -> Path:
    path = tmp_path / "many.py"
    path.write_text(MANY_RESULTS)
    return path


def test_head_gets_the_first_line_and_the_run_stops(tmp_path: Path) -> None:
    """100 million results: only a run that stops when its reader leaves
    can end within the test's timeout."""
    command = [sys.executable, "-m", "d4p_cli", "run", "multi", str(_workflow(tmp_path))]
    with subprocess.Popen(
        [*command, "-i", "100000", "-n", "2", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    ) as run:
        assert run.stdout is not None and run.stderr is not None
        first = run.stdout.readline()
        run.stdout.close()  # what `head -1` does after its line
        stderr = run.stderr.read().decode()
        run.wait(timeout=60)
    assert json.loads(first) == {"pe": "Increment1", "output": "output", "value": 1}
    assert "Traceback" not in stderr and "error" not in stderr, stderr


def test_memory_does_not_grow_with_the_number_of_results(tmp_path: Path) -> None:
    workflow = str(_workflow(tmp_path))

    def peak_kib(iterations: int) -> int:
        command = [sys.executable, "-m", "d4p_cli", "run", "simple", workflow]
        measured = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, *command, "-i", str(iterations), "--quiet"],
            capture_output=True,
            text=True,
            env=subprocess_env(),
            check=True,
        )
        return int(measured.stdout)

    small, large = peak_kib(100), peak_kib(1000)  # 100k and 1M results
    assert large <= 1.5 * small, (small, large)


def test_a_run_that_only_writes_a_topology_prints_no_summary(tmp_path: Path) -> None:
    """``storm --flux FILE`` writes the topology and says so; there is no
    "0 result(s)" summary of a run that did not happen."""
    if "storm" not in available_mappings():
        pytest.skip("d4p-storm is not installed")
    target = tmp_path / "topology.yaml"
    command = [sys.executable, "-m", "d4p_cli", "run", "storm", "examples/wordcount.py"]
    completed = subprocess.run(
        [*command, "-n", "4", "--flux", str(target)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
        env=subprocess_env(),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert target.exists() and completed.stdout == ""
    assert str(target) in completed.stderr
    assert "result(s)" not in completed.stderr
