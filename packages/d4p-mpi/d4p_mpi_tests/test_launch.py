"""d4p starting mpiexec itself: errors, placement, the world size."""

from __future__ import annotations

import argparse

import pytest

from d4p_core import D4pError, RunError, ServiceUnavailableError, WorkflowGraph, run
from d4p_core.backend import RESULTS_PER_REPORT
from d4p_core.testing import child_processes
from d4p_core.testing.pes import CountingProducer, PassThrough
from d4p_core.testing.workflows import build_word_count
from d4p_mpi import MpiMapping, MpiOptions, find_mpiexec


def test_results_and_metrics_come_back_once() -> None:
    result = run(build_word_count(), "mpi", inputs=60, processes=4)
    assert len(result.outputs["WordCounter1"]["output"]) == 60
    assert result.metrics["WordCounter1"].items_in == 60
    assert result.metrics["WordCounter1"].instances == 3
    assert len(result.extra["placement"]) == 4


def test_results_of_other_ranks_arrive_in_batches() -> None:
    graph = WorkflowGraph()
    first, last = PassThrough(), PassThrough()
    graph.connect(CountingProducer(), "output", first, "input")
    graph.connect(first, "output", last, "input")
    items = 3 * RESULTS_PER_REPORT + 5
    result = run(graph, "mpi", inputs=items, processes=3)
    (rank,) = [r for r, hosted in enumerate(result.extra["placement"]) if (last.id, 0) in hosted]
    assert rank != 0  # its results travelled as reports, not straight into the sink
    assert sorted(result.outputs[last.id]["output"]) == list(range(1, items + 1))
    assert not child_processes()


def test_options_from_the_command_line() -> None:
    mapping = MpiMapping()
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", dest="processes", type=int)
    mapping.add_arguments(parser)
    given = ["-n", "3", "--mpiexec-arg=-f", "--mpiexec-arg=hosts", "--batch-size", "8"]
    options = mapping.options_from_args(parser.parse_args(given))
    assert options == MpiOptions(processes=3, mpiexec_args=("-f", "hosts"), batch_size=8)
    assert mapping.options_from_args(parser.parse_args([])) == MpiOptions()


def test_a_misspelt_option_is_one_clear_error() -> None:
    with pytest.raises(D4pError, match=r"mpiexec_arg .*mpiexec_args"):
        run(build_word_count(), "mpi", inputs=3, mpiexec_arg=["-f", "hosts"])
    with pytest.raises(D4pError, match="list of arguments"):
        run(build_word_count(), "mpi", inputs=3, mpiexec_args="-f hosts")


def test_missing_mpiexec_is_a_clear_error() -> None:
    with pytest.raises(ServiceUnavailableError, match="mpiexec-for-d4p-tests"):
        find_mpiexec("/nonexistent/mpiexec-for-d4p-tests")
    with pytest.raises(ServiceUnavailableError, match="does not exist"):
        run(build_word_count(), MpiMapping(), inputs=3, processes=2, mpiexec="/nonexistent/x")


def test_a_launcher_that_fails_is_reported() -> None:
    with pytest.raises(
        RunError, match=r"^the MPI job \(mpiexec --no-such-flag -n 2\) exited with status \d+"
    ):
        run(build_word_count(), "mpi", inputs=3, processes=2, mpiexec_args=["--no-such-flag"])
    assert not child_processes()


def test_without_any_mpiexec_the_install_is_suggested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    with pytest.raises(ServiceUnavailableError, match="pip install d4p-mpi\\[mpich\\]"):
        find_mpiexec(None)
