"""The generic runner in a real subprocess, driven over multilang pipes by a
Storm-side harness (no Java): handshake, spout, bolt, heartbeats, acks,
end of stream, results and failures reaching the driver, and a killed
runner reported by its watcher."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from d4p_core import RunError, WorkflowGraph
from d4p_core.backend import Address, PlacedRun, Plan, Report, ReportSink
from d4p_core.testing.pes import CountingProducer, Failing, KillSelfOn, PassThrough, WordCounter
from d4p_core.testing.processes import alive
from d4p_storm import _driver
from d4p_storm._codec import decode, encode
from d4p_storm._driver import Driver
from d4p_storm._multilang import Channel, StormWentAway
from d4p_storm._report import DriverLink
from d4p_storm._streams import data_stream, eos_stream, task_key
from d4p_storm._submit import storm_topology
from d4p_storm.mapping import StormMapping, StormOptions
from d4p_storm.runner import StormTransport, storm_view
from d4p_storm.topology import TopologySpec, storm_plan

from .harness import StormSide, storm_context
from .talkers import Talker, expected_lines


@pytest.fixture
def driver() -> Iterator[Driver]:
    with Driver() as server:
        yield server


def _setup(
    graph: WorkflowGraph, inputs: Any, driver: Driver, processes: int = 2
) -> tuple[PlacedRun, TopologySpec]:
    """The mapping's own plan and topology (batches of 4 items)."""
    options = StormOptions(processes=processes, batch_size=4)
    placed = StormMapping().plan(graph, options).with_inputs(inputs)
    return placed, storm_topology(placed, "harness", options, driver)


def _sink() -> ReportSink:
    return ReportSink(lambda task: f"task {task}")


def _pipeline(second: Any) -> tuple[WorkflowGraph, CountingProducer, Any]:
    graph = WorkflowGraph()
    producer = CountingProducer()
    graph.connect(producer, "output", second, "input")
    return graph, producer, second


def test_spout_then_bolt_end_to_end_over_the_protocol(driver: Driver, tmp_path: Path) -> None:
    graph, producer, sink = _pipeline(PassThrough())
    placed, spec = _setup(graph, 10, driver)
    stream = data_stream(sink.id, "input")

    spout = StormSide(dict(spec.conf), storm_context(spec, producer.id), tmp_path)
    try:
        assert spout.command("activate") == []
        emitted = [m for m in spout.command("next") if m.get("command") == "emit"]
        # Data in batches of 4 (the job's batch size), then the marker.
        assert [m["stream"] for m in emitted] == [stream] * 3 + [eos_stream(sink.id)]
        assert all(m["need_task_ids"] is False for m in emitted)
        values = [v for m in emitted[:-1] for v in decode(m["tuple"][-1])]
        assert values == list(range(1, 11))
        # Exhausted: later calls only sync.
        assert spout.command("next") == []
    finally:
        assert spout.close() in (0, 2)

    bolt = StormSide(dict(spec.conf), storm_context(spec, sink.id), tmp_path)
    try:
        bolt.heartbeat()
        assert bolt.read() == {"command": "sync"}
        for number, message in enumerate(emitted):
            bolt.tuple(str(number), producer.id, message["stream"], message["tuple"])
        acked: list[str] = []
        while len(acked) < len(emitted):
            message = bolt.read()
            assert message["command"] == "ack", message
            acked.append(message["id"])
        assert acked == [str(n) for n in range(len(emitted))]
        reports = _sink()
        driver.collect(reports, placed.owner)
        assert sorted(reports.outputs[sink.id]["output"]) == list(range(1, 11))
        assert reports.finished == {0, 1}
        assert dict(reports.metrics)[(sink.id, 0)].items_in == 10
        # Done, but still answering Storm until it is killed.
        bolt.heartbeat()
        assert bolt.read() == {"command": "sync"}
    finally:
        assert bolt.close() in (0, 2)


def test_what_a_pe_prints_reaches_the_driver_before_it_is_done(
    driver: Driver, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """stdout, stderr and ``self.log`` of the task, prefixed with the PE
    instance, on the driver's stderr; a last line without its newline too."""
    graph, producer, talker = _pipeline(Talker())
    placed, spec = _setup(graph, 2, driver)
    bolt = StormSide(dict(spec.conf), storm_context(spec, talker.id), tmp_path)
    try:
        stream = data_stream(talker.id, "input")
        bolt.tuple("1", producer.id, stream, [task_key(0, 1), encode([1, 2])])
        bolt.tuple("2", producer.id, eos_stream(talker.id), [f"{producer.id}/0"])
        spout = DriverLink(driver.address, driver.token, (producer.id, 0))
        spout.send(Report.DONE, {})
        spout.close()
        driver.collect(_sink(), placed.owner)
    finally:
        bolt.close()
    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == expected_lines(talker.id, 0, [1, 2])


def test_without_a_driver_what_a_pe_prints_goes_to_storms_log(tmp_path: Path) -> None:
    """A Flux topology submitted by hand: no driver; output and reports
    become Storm ``log`` commands, the output before the ``done``."""
    graph, producer, talker = _pipeline(Talker())
    options = StormOptions(processes=2, batch_size=4)
    placed = StormMapping().plan(graph, options).with_inputs(2)
    spec = storm_topology(placed, "no-driver", options)
    bolt = StormSide(dict(spec.conf), storm_context(spec, talker.id), tmp_path)
    try:
        stream = data_stream(talker.id, "input")
        bolt.tuple("1", producer.id, stream, [task_key(0, 1), encode([1, 2])])
        bolt.tuple("2", producer.id, eos_stream(talker.id), [f"{producer.id}/0"])
        logged: list[str] = []
        while "d4p done" not in logged:
            message = bolt.read()
            if message["command"] == "log":
                logged.append(message["msg"])
    finally:
        bolt.close()
    output = [line for text in logged if not text.startswith("d4p ") for line in text.split("\n")]
    assert output == expected_lines(talker.id, 0, [1, 2])
    assert logged[-1] == "d4p done"


def test_bolt_failure_reaches_the_driver_and_the_task_stays(driver: Driver, tmp_path: Path) -> None:
    graph, producer, failing = _pipeline(Failing("process", on_value=3))
    placed, spec = _setup(graph, 5, driver)
    bolt = StormSide(dict(spec.conf), storm_context(spec, failing.id), tmp_path)
    try:
        bolt.tuple("1", producer.id, data_stream(failing.id, "input"), [encode([1, 2, 3, 4])])
        with pytest.raises(RunError) as failure:
            driver.collect(_sink(), placed.owner)
        assert failure.value.pe_id == failing.id
        assert failure.value.input_repr is not None and "3" in failure.value.input_repr
        assert "failing on purpose" in (failure.value.remote_traceback or "")
        bolt.heartbeat()
        messages = [bolt.read(), bolt.read()]
        assert {"command": "sync"} in messages
    finally:
        bolt.close()


def test_a_killed_runner_is_reported_by_its_watcher(driver: Driver, tmp_path: Path) -> None:
    """Storm reaps the process it started (the watcher), so the watcher
    tells the driver how the runner died, and exits as the shell would."""
    graph, producer, killer = _pipeline(KillSelfOn(3))
    placed, spec = _setup(graph, 5, driver)
    bolt = StormSide(dict(spec.conf), storm_context(spec, killer.id), tmp_path)
    try:
        bolt.tuple("1", producer.id, data_stream(killer.id, "input"), [encode([1, 2, 3])])
        with pytest.raises(RunError) as failure:
            driver.collect(_sink(), placed.owner)
        assert str(failure.value) == "task 1 was killed by signal SIGKILL before finishing"
        assert bolt.process.wait(30) == 128 + signal.SIGKILL
        assert bolt.pid != bolt.process.pid  # Storm talks to the runner, not the watcher
        assert not alive(bolt.pid)
    finally:
        bolt.close()


def test_a_dropped_connection_without_word_from_a_watcher_went_away(
    driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``lost`` report within the grace: the task went away; a ``lost``
    for a task that had finished is no failure."""
    monkeypatch.setattr(_driver, "LOST_GRACE", 0.1)
    graph, producer, sink = _pipeline(PassThrough())
    placed, _ = _setup(graph, 5, driver)
    finished = DriverLink(driver.address, driver.token, (producer.id, 0))
    finished.send(Report.DONE, {})
    finished.send(Report.LOST, "was killed by signal SIGTERM")  # after done: ignored
    finished.close()
    DriverLink(driver.address, driver.token, (sink.id, 0)).close()
    with pytest.raises(RunError) as failure:
        driver.collect(_sink(), placed.owner)
    assert str(failure.value) == "task 1 went away before finishing"


def test_spout_failure_still_answers_next(driver: Driver, tmp_path: Path) -> None:
    graph = WorkflowGraph()
    failing_source = Failing("preprocess")
    failing_source.inputconnections.clear()  # a source
    graph.connect(failing_source, "output", PassThrough(), "input")
    placed, spec = _setup(graph, 3, driver)
    spout = StormSide(dict(spec.conf), storm_context(spec, failing_source.id), tmp_path)
    try:
        assert spout.command("next") == []
        with pytest.raises(RunError) as failure:
            driver.collect(_sink(), placed.owner)
        assert failure.value.phase == "preprocess"
        assert spout.command("next") == []
    finally:
        spout.close()


def _emitted(send: Callable[[StormTransport], None], plan: Plan, sender: Address) -> list[Any]:
    """What a transport wrote to Storm while ``send`` used it."""
    read_fd, write_fd = os.pipe()
    channel = Channel(os.open(os.devnull, os.O_RDONLY), write_fd)
    send(StormTransport(channel, plan, sender))
    channel.flush()
    os.close(write_fd)
    reader = Channel(read_fd, os.open(os.devnull, os.O_WRONLY))
    messages = []
    with contextlib.suppress(StormWentAway):
        while True:
            messages.append(reader.read())
    return messages


def test_a_batch_goes_to_the_task_of_its_instance_and_any_value_survives() -> None:
    """The executor chose the instance (as on every mapping); the emit's key
    makes Storm's fields grouping deliver it to that instance's task."""
    graph = WorkflowGraph()
    producer, counter, passing = CountingProducer(), WordCounter(numprocesses=3), PassThrough()
    passing.numprocesses = 2
    graph.connect(producer, "output", counter, "input")
    graph.connect(producer, "output", passing, "input")
    plan = storm_plan(graph, 6)

    def send(transport: StormTransport) -> None:
        transport.send((counter.id, 2), [("input", [("a", 1), ("a", {3, 4})])])
        transport.send((passing.id, 1), [("input", [5, 6])])
        for index in range(3):
            transport.send_eos((counter.id, index))
        for index in range(2):
            transport.send_eos((passing.id, index))

    grouped, shuffled, *markers = _emitted(send, plan, (producer.id, 0))
    assert grouped["stream"] == data_stream(counter.id, "input")
    assert grouped["tuple"][0] == task_key(2, 3)
    assert decode(grouped["tuple"][1]) == [("a", 1), ("a", {3, 4})]  # a set survives
    assert shuffled["stream"] == data_stream(passing.id, "input")
    assert shuffled["tuple"] == [task_key(1, 2), encode([5, 6])]
    # One marker per consumer (Storm's "all" grouping reaches every task),
    # sent when the executor ends its last instance.
    assert markers == [
        {
            "command": "emit",
            "stream": eos_stream(pe_id),
            "tuple": [f"{producer.id}/0"],
            "need_task_ids": False,
        }
        for pe_id in (counter.id, passing.id)
    ]


def test_a_broadcast_is_one_emit() -> None:
    graph = WorkflowGraph()
    producer, sink = CountingProducer(), PassThrough()
    sink.numprocesses = 3
    sink._add_input("input", grouping="all")
    graph.connect(producer, "output", sink, "input")
    view = storm_view(storm_plan(graph, 4))
    (route,) = view.routes[(producer.id, "output")]
    assert route.dst_instances == 1 and view.instances[sink.id] == 3

    def send(transport: StormTransport) -> None:
        transport.send((sink.id, 0), [("input", [1, 2])])

    (emit,) = _emitted(send, view, (producer.id, 0))
    assert emit["tuple"] == [encode([1, 2])]
