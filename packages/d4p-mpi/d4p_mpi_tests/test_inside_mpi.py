"""Started the other way: the user's ``mpiexec -n N d4p run mpi ...``; the
world size decides the placement and only rank 0 reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from d4p_core import run
from d4p_core.backend import Plan
from d4p_core.testing import (
    CASES,
    INVARIANTS,
    ConformanceCase,
    assert_same_multisets,
    child_processes,
)
from d4p_core.testing.processes import subprocess_env
from d4p_mpi import find_mpiexec

REPO = Path(__file__).resolve().parents[3]


def _mpiexec(
    ranks: int, *args: str, timeout: float = 180, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_mpiexec(None), "-n", str(ranks), sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=subprocess_env(**env),
        check=False,
    )


def _results(stdout: str) -> dict[str, dict[str, list[object]]]:
    outputs: dict[str, dict[str, list[object]]] = {}
    for line in stdout.splitlines():
        record = json.loads(line)
        outputs.setdefault(record["pe"], {}).setdefault(record["output"], []).append(
            record["value"]
        )
    return outputs


# Two ranks in the fast tier; four and eight (oversubscribed) in the full one.
@pytest.mark.parametrize(
    "ranks", [2, pytest.param(4, marks=pytest.mark.slow), pytest.param(8, marks=pytest.mark.slow)]
)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_conformance_inside_mpi(ranks: int, case: ConformanceCase) -> None:
    target = f"d4p_core.testing.workflows:{case.build.__name__}"
    if isinstance(case.inputs, int):
        given = ["-i", str(case.inputs)]
    else:
        given = ["-d", json.dumps(dict(case.inputs or {}))]
    completed = _mpiexec(ranks, "-m", "d4p_cli", "run", "mpi", target, *given)
    assert completed.returncode == 0, completed.stderr
    reference = run(case.build(), "simple", inputs=case.inputs)
    outputs = _results(completed.stdout)  # printed once: by rank 0 only
    graph = case.build()
    plan = Plan.build(graph, max(ranks, Plan.minimum_processes(graph)))
    if case.compare_multisets:
        factors = {pe: plan.instances[pe] for pe in case.broadcast}
        assert_same_multisets(outputs, reference.outputs, factors)
    if case.invariant is not None:
        iterations = case.inputs if isinstance(case.inputs, int) else 20
        INVARIANTS[case.invariant](outputs, iterations)
    assert not child_processes()


def test_group_by_string_keys_is_identical_on_every_rank() -> None:
    """dispel4py's salted hash() split one word across MPI ranks (D3)."""
    target = "d4p_core.testing.workflows:build_word_count"
    completed = _mpiexec(4, "-m", "d4p_cli", "run", "mpi", target, "-i", "400")
    assert completed.returncode == 0, completed.stderr
    counts: dict[str, list[int]] = {}
    for pair in _results(completed.stdout)["WordCounter1"]["output"]:
        assert isinstance(pair, list)
        word, count = pair
        counts.setdefault(str(word), []).append(int(count))
    assert sum(len(c) for c in counts.values()) == 400
    for word, seen in counts.items():
        assert sorted(seen) == list(range(1, len(seen) + 1)), word


@pytest.mark.timeout(60)
def test_a_failing_pe_ends_the_job_and_is_reported_once(tmp_path: Path) -> None:
    workflow = tmp_path / "failing_wf.py"
    workflow.write_text(
        "from d4p_core.testing.conformance import build_failing\ngraph = build_failing('process')\n"
    )
    # The user's mpiexec: after MPI_Abort, Hydra leaves its topology file in
    # /tmp unless HWLOC_XMLFILE is set (the README's advice).
    no_file = str(tmp_path / "no-topology.xml")
    completed = _mpiexec(
        4, "-m", "d4p_cli", "run", "mpi", str(workflow), "-i", "5", HWLOC_XMLFILE=no_file
    )
    assert completed.returncode != 0
    errors = [line for line in completed.stderr.splitlines() if line.startswith("d4p: error:")]
    assert len(errors) == 1, completed.stderr
    assert "Failing2" in errors[0]
    assert "failing on purpose" in completed.stderr
    assert not child_processes()
