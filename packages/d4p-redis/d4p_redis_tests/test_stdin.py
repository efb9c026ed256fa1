"""A workflow fed on stdin (``python - < wf.py``, as a notebook cell or the
REPL): its PEs live in a ``__main__`` with no file. They travel by value
(core's payload), and the graph fingerprint, which guards external workers
against another version of the workflow, is taken from their code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from d4p_core.testing.processes import subprocess_env

ROOT = str(Path(__file__).resolve().parent.parent)

# A base class and a subclass in __main__, and a set constant (whose
# iteration order differs between processes) in the code.
WORKFLOW = """
import sys

from d4p_core import IterativePE, ProducerPE, WorkflowGraph, run


class Scaled(IterativePE):
    def _process(self, data):
        return None if data in {"a", "b", "c"} else self.scale(data)


class Triple(Scaled):
    def scale(self, value):
        return 3 * value


class Count(ProducerPE):
    def _process(self, inputs):
        for i in range(60):
            self.write("output", i)


graph = WorkflowGraph()
graph.connect(Count(), "output", Triple(), "input")
options = {"run_id": sys.argv[2]}
if sys.argv[3] == "external":
    options["workers"] = 0
result = run(graph, sys.argv[1], processes=2, **options)
print(sorted(result.outputs["Triple1"]["output"]))
"""


def _fed_on_stdin(folder: Path, mapping: str, run_id: str, workers: str) -> subprocess.Popen[str]:
    """``python - MAPPING RUN_ID WORKERS < wf.py``."""
    script = folder / "wf.py"
    script.write_text(WORKFLOW)
    with script.open() as stdin:
        return subprocess.Popen(
            [sys.executable, "-", mapping, run_id, workers],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(ROOT),
            cwd=folder,
        )


@pytest.mark.parametrize("mapping", ["redis", "dyn_redis", "hybrid_redis"])
def test_workflow_fed_on_stdin(mapping: str, tmp_path: Path) -> None:
    driver = _fed_on_stdin(tmp_path, mapping, f"stdin-{mapping}", "local")
    stdout, stderr = driver.communicate(timeout=120)
    assert driver.returncode == 0, stderr
    assert stdout == f"{[3 * i for i in range(60)]}\n"


def test_external_worker_joins_a_workflow_fed_on_stdin(redis_url: str, tmp_path: Path) -> None:
    """The worker gets the PEs' code with the run and computes the same
    fingerprint from it (its own ``__main__`` defines none of them)."""
    driver = _fed_on_stdin(tmp_path, "dyn_redis", "stdin-external", "external")
    command = ["-m", "d4p_redis.worker", "--redis-url", redis_url, "--run", "stdin-external"]
    worker = subprocess.run(
        [sys.executable, *command, "--wait", "60"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    stdout, stderr = driver.communicate(timeout=120)
    assert worker.returncode == 0, worker.stderr
    assert driver.returncode == 0, stderr
    assert stdout == f"{[3 * i for i in range(60)]}\n"
