"""dispel4py's PE libraries (``dispel4py.new.aggregate``, ``dispel4py.new.monitoring``)
in an unmodified dispel4py workflow, run with ``d4p run`` on every installed
mapping: the same answers everywhere, whatever the number of partial
instances (idle ones included); the dynamic mappings refuse the aggregates
(their global stage keeps state) with one clear message and run the
stateless timed PE.

Each run is a fresh ``d4p`` process, as a user's is: the compatibility layer
it installs never leaks into the other tests.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import d4p_core

Runner = Callable[..., "subprocess.CompletedProcess[str]"]

MAPPINGS = sorted(d4p_core.available_mappings())
N = 300  # items the workflow's source writes

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("dispel4py") is not None,
    reason="the real dispel4py is installed; the compat layer stays off",
)

WORKFLOW = f'''
"""Written as for dispel4py: only dispel4py imports."""
from dispel4py.base import IterativePE
from dispel4py.core import GenericPE
from dispel4py.new.aggregate import (
    ContinuousReducePE, parallelAvg, parallelCount, parallelMax, parallelMin,
    parallelStdDev, parallelSum, parallel_min, parallel_std_dev,
)
from dispel4py.new.monitoring import ProcessTimingPE
from dispel4py.workflow_graph import WorkflowGraph


class Rows(GenericPE):
    def __init__(self, n={N}):
        GenericPE.__init__(self)
        self._add_output("output")
        self.n = n

    def _process(self, inputs):
        for i in range(self.n):
            self.write("output", [i, -i])


class Running(ContinuousReducePE):
    def _process(self, data):
        self.value[0] += data[0]


class Double(IterativePE):
    def _process(self, data):
        return [2 * data[0]]


def aggregates():
    graph = WorkflowGraph()
    rows = Rows()
    for composite in (
        parallelSum([0, 1]), parallelCount(), parallelMin([1]), parallelMax(),
        parallelAvg(), parallelStdDev(),
    ):
        graph.connect(rows, "output", composite, "input")
    graph.connect(rows, "output", Running(), "input")
    graph.connect(rows, "output", ProcessTimingPE(Double()), "input")
    return graph


def replicated():
    """Three partial instances for two items: one is idle."""
    graph = WorkflowGraph()
    rows = Rows(2)
    for composite in (parallel_std_dev(), parallel_min()):
        composite.inputmappings["input"][0].numprocesses = 3
        graph.connect(rows, "output", composite, "input")
    return graph


def timed():
    graph = WorkflowGraph()
    double = ProcessTimingPE(Double())
    double.numprocesses = 2
    graph.connect(Rows(), "output", double, "input")
    return graph
'''

S = N * (N - 1) // 2
SQUARES = (N - 1) * N * (2 * N - 1) // 6
AGGREGATES = {
    "SumPE": [[S, -S]],
    "CountReduce": [[N]],
    "MinPE": [[-(N - 1)]],
    "MaxPE": [[N - 1]],
    "AverageReducePE": [[(N - 1) / 2, N, S]],
    "StdDevReducePE": [[math.sqrt(N * (N + 1) / 12), N, S, SQUARES]],
    "Running": [[k * (k + 1) // 2] for k in range(N)],
    "Double": [[2 * i] for i in range(N)],
}
REPLICATED = {"StdDevReducePE": [[math.sqrt(1 / 2), 2, 1, 1]], "MinPE": [[0]]}
GLOBAL_STAGES = {
    "aggregates": [
        "SumPE1",
        "CountReduce1",
        "MinPE1",
        "MaxPE1",
        "AverageReducePE1",
        "StdDevReducePE1",
        "Running7",
    ],
    "replicated": ["StdDevReducePE1", "MinPE1"],
}


def _marks(mapping: str) -> Any:
    # Every storm run starts a Storm LocalCluster JVM of its own.
    return pytest.param(mapping, marks=pytest.mark.slow) if mapping == "storm" else mapping


EVERY_MAPPING = [_marks(m) for m in MAPPINGS]


@pytest.fixture(scope="module")
def workflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compat_libraries") / "libraries_wf.py"
    path.write_text(WORKFLOW)
    return path


def _run(runner: Runner, mapping: str, workflow: Path, attr: str, processes: int) -> Any:
    # --quiet without the summary, but the PEs' info log lines (the timings) kept
    command = ["-a", attr, "-n", str(processes), "--quiet", "--log-level", "info"]
    return runner(mapping, str(workflow), *command, timeout=300)


def _by_name(stdout: str) -> dict[str, list[Any]]:
    """Result values per PE name (the id without its index), sorted."""
    found: dict[str, list[Any]] = {}
    for line in stdout.splitlines():
        record = json.loads(line)
        found.setdefault(re.sub(r"\d+$", "", record["pe"]), []).append(record["value"])
    return {name: sorted(values) for name, values in found.items()}


def _assert_refused(completed: subprocess.CompletedProcess[str], mapping: str, attr: str) -> None:
    assert completed.returncode == 6, completed.stderr
    assert completed.stdout == ""
    [message] = [line for line in completed.stderr.splitlines() if line.strip()]
    assert f"{mapping} runs only stateless PEs" in message
    assert all(f"{pe} (" in message for pe in GLOBAL_STAGES[attr]), message


def _timing_calls(stderr: str, pe_id: str) -> list[int]:
    """The calls of each 'Average processing time' line ProcessTimingPE logged."""
    pattern = re.compile(
        rf"^{pe_id} \(rank \d+\): Average processing time: \S+ s \((\d+) process calls"
    )
    return [int(m.group(1)) for m in map(pattern.search, stderr.splitlines()) if m]


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_aggregates_and_timing_give_the_same_answers(
    run_module: Runner, workflow: Path, mapping: str
) -> None:
    completed = _run(run_module, mapping, workflow, "aggregates", 4)
    if not d4p_core.load_mapping(mapping).supports_stateful:
        _assert_refused(completed, mapping, "aggregates")
        return
    assert completed.returncode == 0, completed.stderr
    assert _by_name(completed.stdout) == AGGREGATES
    assert sum(_timing_calls(completed.stderr, "Double8")) == N, completed.stderr


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_idle_partial_instances_change_nothing(
    run_module: Runner, workflow: Path, mapping: str
) -> None:
    completed = _run(run_module, mapping, workflow, "replicated", 8)
    if not d4p_core.load_mapping(mapping).supports_stateful:
        _assert_refused(completed, mapping, "replicated")
        return
    assert completed.returncode == 0, completed.stderr
    assert _by_name(completed.stdout) == REPLICATED


@pytest.mark.parametrize("mapping", EVERY_MAPPING)
def test_a_timed_stateless_pe_runs_everywhere(
    run_module: Runner, workflow: Path, mapping: str
) -> None:
    completed = _run(run_module, mapping, workflow, "timed", 4)
    assert completed.returncode == 0, completed.stderr
    assert _by_name(completed.stdout) == {"Double": [[2 * i] for i in range(N)]}
    calls = _timing_calls(completed.stderr, "Double1")
    # One line per instance or worker copy that had calls; idle ones log nothing.
    assert sum(calls) == N and all(calls), completed.stderr
