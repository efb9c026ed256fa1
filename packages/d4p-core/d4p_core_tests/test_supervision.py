"""Core's supervision: one report protocol, one wording for every way a
worker ends badly, one local-process policy."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from typing import Any

import pytest

from d4p_core import RunError
from d4p_core.backend import (
    BatchingReporter,
    FailureInfo,
    LocalProcesses,
    PEMetrics,
    Report,
    ReportSink,
    crash_text,
    exit_description,
)


def _describe(worker: Any) -> str:
    return f"worker {worker} (hosting a[0])"


def test_the_sink_collects_results_and_metrics() -> None:
    sink = ReportSink(_describe)
    sink.handle(Report.RESULTS, 0, [("a", "output", 1), ("a", "output", 2)])
    sink.handle("results", 1, [("a", "output", 3)])  # kinds travel as strings too
    metrics = PEMetrics("a", 1, 3, 3, 3, 0.0)
    assert sink.handle("done", 1, {("a", 0): metrics}) is Report.DONE
    assert sink.outputs == {"a": {"output": [1, 2, 3]}}
    assert sink.metrics == [(("a", 0), metrics)]
    assert sink.finished == {1}
    assert sink.handle(Report.CLOSED, 0, "b") is Report.CLOSED  # the coordinator's


def test_the_sink_words_every_bad_end_the_same() -> None:
    sink = ReportSink(_describe)
    try:
        raise ValueError("broken")
    except ValueError as exc:
        text = crash_text(exc)
    with pytest.raises(
        RunError, match=r"^worker 2 \(hosting a\[0\]\) crashed: ValueError: broken$"
    ):
        sink.handle(Report.CRASHED, 2, text)
    with pytest.raises(
        RunError,
        match=r"^worker 2 \(hosting a\[0\]\) was killed by signal SIGKILL before finishing$",
    ):
        sink.handle(Report.LOST, 2, exit_description(-signal.SIGKILL))
    assert exit_description(3) == "exited with status 3"
    info = FailureInfo("a", 0, "process", "7", "ValueError: no", "Traceback ...")
    with pytest.raises(RunError, match=r"PE 'a' \(instance 0\) failed in process on input 7"):
        sink.handle(Report.FAILED, 0, info)


def test_the_reporter_batches_results_and_flushes_before_other_reports() -> None:
    sent: list[tuple[Report, Any]] = []
    reporter = BatchingReporter(lambda kind, payload: sent.append((kind, payload)), batch_size=2)
    reporter.result("a", "output", 1)
    assert sent == []
    reporter.result("a", "output", 2)
    reporter.result("a", "output", 3)
    reporter.done(None)
    assert sent == [
        (Report.RESULTS, [("a", "output", 1), ("a", "output", 2)]),
        (Report.RESULTS, [("a", "output", 3)]),
        (Report.DONE, None),
    ]


def _sleep_forever() -> None:
    time.sleep(60)


def _exit_cleanly() -> None:
    pass


def test_local_processes_notice_a_killed_worker_and_stop_the_rest() -> None:
    processes = LocalProcesses(multiprocessing.get_context("fork"))
    doomed = processes.start(_sleep_forever, name="doomed")
    other = processes.start(_sleep_forever, name="other")
    assert processes.lost(finished=()) is None
    pid = processes.processes[doomed].pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    processes.processes[doomed].join(10)
    assert processes.lost(finished=()) == (doomed, "was killed by signal SIGKILL")
    processes.stop(graceful=False)
    assert not processes.processes[other].is_alive()


def test_a_clean_exit_without_done_counts_as_lost_only_after_a_grace() -> None:
    processes = LocalProcesses(multiprocessing.get_context("fork"))
    index = processes.start(_exit_cleanly, name="quiet")
    processes.processes[index].join(10)
    checks = 1
    while processes.lost(finished=()) is None:
        checks += 1
    assert checks > 1  # its last reports may still be on their way
    assert processes.lost(finished={index}) is None
    processes.stop(graceful=True)
