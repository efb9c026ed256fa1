"""``RunResult.process_seconds`` where core measures it: ``simple`` (the
driver is the one process), ``LocalProcesses`` (every worker mapping of
core) and the mapping template that copies a backend's value."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from d4p_core import RunResult, WorkflowGraph, run
from d4p_core.mappings.base import RunOutcome
from d4p_core.runtime.supervision import LocalProcesses
from d4p_core.testing.pes import CountingProducer, PassThrough


def _pipeline() -> tuple[WorkflowGraph, str]:
    graph = WorkflowGraph()
    last = PassThrough()
    graph.connect(CountingProducer(), "output", last, "input")
    return graph, last.id


def test_simple_counts_its_one_process_for_the_whole_run() -> None:
    graph, _ = _pipeline()
    result = run(graph, "simple", inputs=20)
    assert result.process_seconds == result.elapsed_seconds > 0


@pytest.mark.parametrize("processes", [1, 3])
def test_multi_counts_every_process_block(processes: int) -> None:
    graph, last = _pipeline()
    result = run(graph, "multi", inputs=20, processes=processes)
    assert sorted(result.outputs[last]["output"]) == list(range(1, 21))
    blocks = len(result.extra["placement"])
    assert blocks == processes
    # Each block's process lives inside the run, and is alive for some of it.
    assert 0 < result.process_seconds <= blocks * result.elapsed_seconds


def test_an_ended_process_stops_counting_while_another_runs_on() -> None:
    """A process's lifetime ends when its exit is seen (supervision looks
    every 0.2 s), not when the run stops every process."""
    processes = LocalProcesses(multiprocessing.get_context("fork"))
    processes.start(time.sleep, 0, name="short")
    processes.processes[0].join()
    processes.lost(finished={0})  # stamps the exit, as supervision does
    ended = processes.process_seconds()
    assert ended > 0
    assert processes.process_seconds() == ended
    processes.stop(graceful=True)
    assert processes.process_seconds() == ended


def test_the_template_copies_the_backends_process_seconds() -> None:
    outcome = RunOutcome({}, [], process_seconds=12.5)
    result = outcome.result("x", time.perf_counter(), ({}, {}), {})
    assert isinstance(result, RunResult)
    assert result.process_seconds == 12.5
    assert "process_seconds" not in result.extra
