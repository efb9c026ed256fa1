"""``RunResult.process_seconds`` of ``storm``: every task's Python process
counts from its start (it tells the driver how long it had lived when it
connected) to the topology's kill. No Java here: the driver, and a real
runner subprocess driven by the test's Storm side."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from d4p_core import WorkflowGraph
from d4p_core.backend import Report, ReportSink
from d4p_core.testing.pes import CountingProducer, PassThrough
from d4p_storm._codec import encode
from d4p_storm._driver import Driver
from d4p_storm._report import DriverLink
from d4p_storm._streams import data_stream, eos_stream, task_key
from d4p_storm._submit import storm_topology
from d4p_storm.mapping import StormMapping, StormOptions

from .harness import StormSide, storm_context


@pytest.fixture
def driver() -> Iterator[Driver]:
    with Driver() as server:
        yield server


def _sink() -> ReportSink:
    return ReportSink(lambda task: f"task {task}")


def test_a_task_counts_from_its_start_and_its_watchers_hello_changes_nothing(
    driver: Driver,
) -> None:
    before = time.monotonic()
    runner = DriverLink(driver.address, driver.token, ("a", 0), alive_for=5.0)
    runner.send(Report.DONE, {})
    runner.close()
    driver.collect(_sink(), {("a", 0): 0})
    # The watcher of a task that died connects too, without alive_for.
    watcher = DriverLink(driver.address, driver.token, ("a", 0))
    watcher.send(Report.LOST, "was killed by signal SIGKILL")
    watcher.close()
    until = time.monotonic()
    counted = driver.process_seconds(until)
    assert 5.0 <= counted <= 5.0 + (until - before)


def test_a_real_runner_tells_how_long_it_had_lived(driver: Driver, tmp_path: Path) -> None:
    """The runner Storm would start counts from its own start: between the
    test starting its process and the handshake the process answered."""
    graph = WorkflowGraph()
    producer, sink = CountingProducer(), PassThrough()
    graph.connect(producer, "output", sink, "input")
    options = StormOptions(processes=2, batch_size=4)
    placed = StormMapping().plan(graph, options).with_inputs(2)
    spec = storm_topology(placed, "harness", options, driver)
    spawned = time.monotonic()
    bolt = StormSide(dict(spec.conf), storm_context(spec, sink.id), tmp_path)
    answered = time.monotonic()
    try:
        batch = [task_key(0, 1), encode([1, 2])]
        bolt.tuple("1", producer.id, data_stream(sink.id, "input"), batch)
        bolt.tuple("2", producer.id, eos_stream(sink.id), [f"{producer.id}/0"])
        spout = DriverLink(driver.address, driver.token, (producer.id, 0), alive_for=0.0)
        spout.send(Report.DONE, {})
        spout.close()
        reports = _sink()
        driver.collect(reports, placed.owner)
        collected = time.monotonic()
        assert sorted(reports.outputs[sink.id]["output"]) == [1, 2]
    finally:
        bolt.close()
    until = time.monotonic()
    counted = driver.process_seconds(until)
    # Each task counts from (when the driver's connection thread read its
    # hello) - (how long it had lived then). The spout's hello may be read a
    # moment after it was sent, but before collect() returned; the runner
    # started before it answered the handshake; neither before the test
    # started the first process.
    spout_part = (until - collected, until - spawned)
    bolt_part = (until - answered, until - spawned)
    assert spout_part[0] + bolt_part[0] <= counted <= spout_part[1] + bolt_part[1]
