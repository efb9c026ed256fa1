"""d4p starting mpiexec itself: errors, placement, the world size."""

from __future__ import annotations

import pytest

from d4p_core import RunError, ServiceUnavailableError, run
from d4p_core.testing import child_processes
from d4p_core.testing.workflows import build_word_count
from d4p_mpi import MpiMapping, find_mpiexec


def test_results_and_metrics_come_back_once() -> None:
    result = run(build_word_count(), "mpi", inputs=60, processes=4)
    assert len(result.outputs["WordCounter1"]["output"]) == 60
    assert result.metrics["WordCounter1"].items_in == 60
    assert result.metrics["WordCounter1"].instances == 3
    assert len(result.extra["placement"]) == 4


def test_missing_mpiexec_is_a_clear_error() -> None:
    with pytest.raises(ServiceUnavailableError, match="mpiexec-for-d4p-tests"):
        find_mpiexec("/nonexistent/mpiexec-for-d4p-tests")
    with pytest.raises(ServiceUnavailableError, match="does not exist"):
        run(build_word_count(), MpiMapping(), inputs=3, processes=2, mpiexec="/nonexistent/x")


def test_a_launcher_that_fails_is_reported() -> None:
    with pytest.raises(RunError, match="ended with status"):
        run(build_word_count(), "mpi", inputs=3, processes=2, mpiexec_args=["--no-such-flag"])
    assert not child_processes()


def test_without_any_mpiexec_the_install_is_suggested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    with pytest.raises(ServiceUnavailableError, match="pip install d4p-mpi\\[mpich\\]"):
        find_mpiexec(None)
