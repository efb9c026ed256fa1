"""What PEs print, on a real LocalCluster (and through Nimbus): on the
driver's stderr, prefixed with the PE instance, never on its stdout; and
what the mapping itself says on stderr (a Flux file written)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from d4p_core import WorkflowGraph, run
from d4p_storm import LocalStorm
from d4p_storm._submit import REUSE_ENV

from .talkers import Talker, TalkingSource, expected_lines

# Each test submits topologies to the LocalCluster (seconds each): full tier
# only; the fast tier's Storm smoke test is the conformance word count.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


def _talking_graph() -> tuple[WorkflowGraph, TalkingSource, Talker]:
    graph = WorkflowGraph()
    source, talker = TalkingSource(), Talker(numprocesses=2)
    graph.connect(source, "output", talker, "input")
    return graph, source, talker


def _check_relayed(err: str, source: TalkingSource, talker: Talker) -> None:
    lines = err.splitlines()
    assert f"{source.id} (rank 0): source ready" in lines
    # Round robin item by item, as on every mapping: 1, 3 and 2, 4.
    for index, items in ((0, [1, 3]), (1, [2, 4])):
        mine = [line for line in lines if line.startswith(f"{talker.id} (rank {index}): ")]
        assert mine == expected_lines(talker.id, index, items)


def test_pe_output_reaches_the_driver_stderr_only(
    storm_cluster: LocalStorm, capfd: pytest.CaptureFixture[str]
) -> None:
    graph, source, talker = _talking_graph()
    result = run(graph, "storm", inputs=4, processes=3, cluster=storm_cluster, timeout=120)
    assert sorted(result.outputs[talker.id]["output"]) == [1, 2, 3, 4]
    captured = capfd.readouterr()
    assert captured.out == ""
    _check_relayed(captured.err, source, talker)


def test_pe_output_reaches_the_driver_through_nimbus(
    nimbus_address: str, capfd: pytest.CaptureFixture[str]
) -> None:
    graph, source, talker = _talking_graph()
    run(graph, "storm", inputs=4, processes=3, nimbus=nimbus_address, timeout=120)
    captured = capfd.readouterr()
    assert captured.out == ""
    _check_relayed(captured.err, source, talker)


def test_cli_stdout_is_results_only(
    launcher_built: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``d4p run storm --local`` (with the shared JVM of REUSE_ENV, stopped
    when the process exits): results on stdout, what the PEs print on
    stderr."""
    monkeypatch.setenv(REUSE_ENV, "1")
    workflow = tmp_path / "talking.py"
    workflow.write_text(
        "from d4p_core import WorkflowGraph\n"
        "from d4p_storm_tests.talkers import Talker, TalkingSource\n"
        "graph = WorkflowGraph()\n"
        "graph.connect(TalkingSource(), 'output', Talker(numprocesses=2), 'input')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-m", "d4p_cli", "run", "storm", str(workflow), "--local", "-i", "4"],
        cwd=REPO / "packages" / "d4p-storm",
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results = [json.loads(line) for line in completed.stdout.splitlines()]
    assert sorted(r["value"] for r in results) == [1, 2, 3, 4]
    _, source, talker = _talking_graph()  # the same PE ids as the file's
    _check_relayed(completed.stderr, source, talker)


def test_flux_says_what_it_wrote_and_how_to_submit_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    graph, _, _ = _talking_graph()
    target = tmp_path / "talking.yaml"
    result = run(graph, "storm", inputs=4, processes=3, flux=str(target))
    captured = capfd.readouterr()
    assert captured.out == ""
    name = result.extra["topology"]
    assert f"d4p storm: wrote topology {name} to {target} as Flux YAML" in captured.err
    assert "(1 spout(s), 1 bolt(s), 3 task(s))" in captured.err
    assert f"storm jar FLUX.jar org.apache.storm.flux.Flux --remote {target}" in captured.err
    assert f"storm kill {name}" in captured.err
