"""Results stream to the caller while an MPI job d4p launched still runs:
rank 0 lives in a process mpiexec started, forwards each results report to
the driver as it takes it (also between the batches its own sources send),
and the driver hands them to the caller's callback."""

from __future__ import annotations

from typing import Any

import pytest

from d4p_core import RunError, WorkflowGraph, run, stream
from d4p_core.testing import child_processes
from d4p_core.testing.pes import CountingProducer, Failing
from d4p_core.testing.processes import wait_gone
from d4p_core.testing.workflows import build_pipeline


@pytest.mark.timeout(120)
@pytest.mark.parametrize("processes", [2, 3])
def test_results_stream_while_the_job_runs(processes: int) -> None:
    """A billion items would take hours: the first result comes long
    before, and closing the stream then ends the job (nothing left)."""
    results = stream(build_pipeline(), "mpi", inputs=10**9, processes=processes)
    first = next(results)
    results.close()
    assert first[2] >= 1
    assert results.result is None  # it did not run to the end
    assert not wait_gone(child_processes(), timeout=30)


@pytest.mark.timeout(120)
def test_every_result_reaches_the_callback_and_none_is_kept() -> None:
    received: list[Any] = []
    result = run(
        build_pipeline(), "mpi", inputs=700, processes=3, on_result=lambda *r: received.append(r[2])
    )
    assert sorted(received) == list(range(1, 701))
    assert result.outputs == {}
    assert result.metrics  # the rest of the result is there


@pytest.mark.timeout(120)
def test_a_failure_still_ends_a_streamed_run_with_its_error() -> None:
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", Failing(on_value=3), "input")
    with pytest.raises(RunError, match="Failing"):
        run(graph, "mpi", inputs=10, processes=2, on_result=lambda *r: None)
    assert not wait_gone(child_processes(), timeout=30)
