"""Beyond the conformance suite: Nimbus Thrift submission (to the real
Nimbus of the shared LocalCluster), an unreachable Nimbus, Flux output of a
run, and ``d4p run storm --local`` from the command line (its own JVM,
stopped afterwards, also when a PE raises; its scratch folder removed)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from d4p_core import RunError, ServiceUnavailableError, run
from d4p_core.testing import INVARIANTS, assert_same_multisets, case_by_name
from d4p_storm import LocalStorm
from d4p_storm._codec import decode
from d4p_storm._job import JOB_KEY, StormJob
from d4p_storm._submit import REUSE_ENV

from .leftovers import launcher_jvms

# Each test submits topologies to the LocalCluster (seconds each): full tier
# only; the fast tier's Storm smoke test is the conformance word count.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


def test_nimbus_submission_word_count(nimbus_address: str) -> None:
    case = case_by_name("word_count")
    result = run(
        case.build(), "storm", inputs=case.inputs, processes=4, nimbus=nimbus_address, timeout=120
    )
    reference = run(case.build(), "simple", inputs=case.inputs)
    assert_same_multisets(result.outputs, reference.outputs)
    assert case.invariant is not None
    INVARIANTS[case.invariant](result.outputs, case.inputs if isinstance(case.inputs, int) else 20)
    assert result.extra["where"] == nimbus_address
    assert result.instance_metrics["WordCounter1"].keys() == {0, 1, 2}


def test_nimbus_failure_is_a_run_error(nimbus_address: str) -> None:
    from d4p_core.testing import build_failing

    with pytest.raises(RunError) as failure:
        run(
            build_failing("process"),
            "storm",
            inputs=5,
            processes=4,
            nimbus=nimbus_address,
            timeout=120,
        )
    assert failure.value.pe_id == "Failing2"


def test_unreachable_nimbus_is_reported_quickly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    case = case_by_name("pipeline")
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as refused:
        run(case.build(), "storm", inputs=3, nimbus=f"127.0.0.1:{port}")
    assert time.monotonic() - started < 15
    assert f"127.0.0.1:{port}" in str(refused.value)


def test_flux_only_writes_the_topology(tmp_path: Path) -> None:
    case = case_by_name("word_count")
    target = tmp_path / "wc.yaml"
    result = run(case.build(), "storm", inputs=case.inputs, processes=5, flux=str(target))
    assert result.outputs == {}
    assert result.extra["flux"] == str(target)
    flux = yaml.safe_load(target.read_text())
    job = StormJob.from_conf(flux["config"])
    assert job.driver is None
    assert job.plan.instances["WordCounter1"] == 3
    assert {b["id"]: b["parallelism"] for b in flux["bolts"]} == {"WordCounter1": 3}
    assert isinstance(decode(flux["config"][JOB_KEY]), StormJob)
    assert flux["config"]["topology.acker.executors"] == 0


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "d4p_cli", "run", "storm", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_cli_local_run_and_failure(
    launcher_built: None, tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JVM of its own per run (what a user gets without REUSE_ENV),
    stopped and its scratch folder (in the run's TMPDIR) removed, after a
    success and after a PE failure (the autouse fixtures check TMPDIR)."""
    monkeypatch.setenv(REUSE_ENV, "0")
    completed = _cli("examples/wordcount.py", "--local", "-i", "30", "-n", "4", "--quiet")
    assert completed.returncode == 0, completed.stderr
    counts = [json.loads(line)["value"] for line in completed.stdout.splitlines() if line.strip()]
    assert len(counts) == 30
    per_word: dict[str, list[int]] = {}
    for word, count in counts:
        per_word.setdefault(word, []).append(count)
    for values in per_word.values():
        assert sorted(values) == list(range(1, len(values) + 1))
    assert launcher_jvms(private_tmp) == [], "a LocalCluster JVM was left running"
    assert list(private_tmp.iterdir()) == []

    workflow = tmp_path / "raising.py"
    workflow.write_text(
        "from d4p_core import WorkflowGraph\n"
        "from d4p_core.testing.pes import CountingProducer, Failing\n"
        "graph = WorkflowGraph()\n"
        "graph.connect(CountingProducer(), 'output', Failing('process', on_value=2), 'input')\n"
    )
    completed = _cli(str(workflow), "--local", "-i", "5")
    assert completed.returncode == RunError.exit_code
    assert "Failing1" in completed.stderr and "failing on purpose" in completed.stderr
    assert launcher_jvms(private_tmp) == [], "a LocalCluster JVM was left running"


def test_two_workers_serialise_between_them(storm_cluster: LocalStorm) -> None:
    """With two worker "processes" tuples cross Storm's Kryo serialisation
    (always tried here): the fields d4p emits are plain strings and longs."""
    case = case_by_name("word_count_filter")
    result = run(
        case.build(),
        "storm",
        inputs=case.inputs,
        processes=9,
        cluster=storm_cluster,
        workers=2,
        conf={"topology.testing.always.try.serialize": True},
        timeout=120,
    )
    reference = run(case.build(), "simple", inputs=case.inputs)
    assert_same_multisets(result.outputs, reference.outputs)
