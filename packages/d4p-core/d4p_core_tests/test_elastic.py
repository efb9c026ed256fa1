"""dyn_auto_multi starts and retires worker processes: every item is processed
exactly once whatever the pool does (workers killed at any moment included,
on every local dynamic mapping),
a retired worker closes its PE copies and exits as expected, a task that
kills its workers fails the run after ``max_deaths``, every decision is
recorded, and the run reports its process-seconds."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from d4p_core import GenericPE, RunError, WorkflowGraph, run
from d4p_core.mappings.dynamic.autoscale import BacklogPolicy
from d4p_core.runtime.supervision import LocalProcesses
from d4p_core.testing import child_processes
from d4p_core.testing.pes import (
    BurstThenTail,
    BusyBelow,
    CountingProducer,
    DiesOnStart,
    KillSelfOn,
    PassThrough,
    Total,
)
from d4p_core.testing.policies import ScriptedPolicy

from ._mp_pes import Busy


class MarksItsClose(GenericPE):
    """Passes items on; its ``postprocess`` writes one marker per copy,
    downstream (so a retiring worker's marker is work in flight after it
    left) and to ``closed``."""

    MARK = -1

    def __init__(self) -> None:
        super().__init__()
        self._add_input("input")
        self._add_output("output")
        self._add_output("closed")

    def _process(self, inputs: dict[str, Any]) -> None:
        self.write("output", inputs["input"])

    def _postprocess(self) -> None:
        self.write("output", self.MARK)
        self.write("closed", 1)


class _SourceKillsItself(CountingProducer):
    def _process(self, inputs: Any) -> dict[str, Any]:
        if self.counter == 5:
            os.kill(os.getpid(), signal.SIGKILL)
        return super()._process(inputs)


def _chain(*middle: GenericPE, source: GenericPE | None = None) -> tuple[WorkflowGraph, str]:
    graph = WorkflowGraph()
    previous: GenericPE = source or CountingProducer()
    for pe in (*middle, PassThrough()):
        graph.connect(previous, "output", pe, "input")
        previous = pe
    return graph, previous.id


def _actions(result: Any) -> list[str]:
    return [entry["action"] for entry in result.extra["scaling_actions"]]


@pytest.mark.timeout(120)
def test_a_custom_policy_starts_and_retires_workers_and_no_item_is_lost_or_repeated() -> None:
    marks = MarksItsClose()
    work = Busy(5)
    graph, last = _chain(marks, work)
    policy = ScriptedPolicy(shrink_after=100)  # of about 400 tasks
    result = run(graph, "dyn_auto_multi", inputs=400, processes=3, batch_size=1, policy=policy)
    workers = result.extra["processes_started"] - 1  # the source hosts no copy
    expected = Counter(range(1, 401))
    expected[MarksItsClose.MARK] = workers  # each copy's postprocess output, downstream too
    assert Counter(result.outputs[last]["output"]) == expected
    assert policy.snapshots, "the coordinator asks the custom policy"
    reasons = [d["reason"] for d in result.extra["autoscaling"]]
    assert reasons[0] == "scripted: 3 workers for the bulk"
    assert "scripted: the work is nearly done" in reasons
    assert _actions(result)[:2] == ["start", "retire"]
    # The started workers took shared work.
    copies = result.instance_metrics[work.id].values()
    assert sum(1 for copy in copies if copy.items_in) >= 2
    # Every worker process, retired or stopped at the end, closed its copy once.
    assert len(result.outputs[marks.id]["closed"]) == workers
    assert workers >= 3
    assert result.process_seconds > 0
    assert not child_processes()


@pytest.mark.timeout(120)
def test_a_burst_then_a_light_tail_grows_then_shrinks_the_pool() -> None:
    burst = 200
    graph, last = _chain(BusyBelow(burst, 10), source=BurstThenTail(burst, pause=0.05))
    policy = BacklogPolicy(cores=3, idle_after=0.3, window=0.3)
    result = run(
        graph, "dyn_auto_multi", inputs=burst + 60, processes=3, batch_size=1, policy=policy
    )
    assert Counter(result.outputs[last]["output"]) == Counter(range(burst + 60))
    decisions = result.extra["autoscaling"]
    sizes = [d["active_after"] for d in decisions]
    peak = sizes.index(max(sizes))
    assert decisions[0]["active_before"] == 1 and max(sizes) == 3
    assert any(size < max(sizes) for size in sizes[peak:]), f"no shrink after the burst: {sizes}"
    assert "backlog" in decisions[0]["reason"]
    assert any("idle" in d["reason"] for d in decisions[peak:])
    assert "retire" in _actions(result)[peak:]
    assert not child_processes()


def _policy(mapping: str) -> dict[str, Any]:
    """dyn_auto_multi: three workers for the whole run."""
    return {"policy": ScriptedPolicy(shrink_after=10_000)} if mapping == "dyn_auto_multi" else {}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mapping", ["dyn_multi", "dyn_auto_multi", "hybrid_multi"])
def test_a_worker_killed_mid_task_loses_and_repeats_nothing(mapping: str, tmp_path: Path) -> None:
    killer = KillSelfOn(300, once=str(tmp_path / "killed"))
    graph, last = _chain(Busy(2), killer)
    result = run(graph, mapping, inputs=600, processes=3, batch_size=1, **_policy(mapping))
    assert (tmp_path / "killed").exists(), "a worker was killed"
    assert Counter(result.outputs[last]["output"]) == Counter(range(1, 601))
    assert _actions(result).count("lost") == 1
    assert not child_processes()


class _Large(CountingProducer):
    """400 kB per item: a task, and a commit, far larger than a pipe holds."""

    def _process(self, inputs: Any) -> dict[str, Any]:
        number = super()._process(inputs)["output"]
        return {"output": number.to_bytes(4, "big") + bytes(400_000)}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mapping", ["dyn_multi", "dyn_auto_multi", "hybrid_multi"])
def test_tasks_and_results_larger_than_a_pipe_holds_do_not_stall_the_run(mapping: str) -> None:
    # The driver sending a large task while a worker sends a large commit
    # waited for each other for ever (both pipes full), before workers read
    # their pipe in a thread of their own.
    graph, last = _chain(source=_Large())
    result = run(graph, mapping, inputs=300, processes=2, **_policy(mapping))
    numbers = sorted(int.from_bytes(value[:4], "big") for value in result.outputs[last]["output"])
    assert numbers == list(range(1, 301))
    assert not child_processes()


@pytest.mark.timeout(120)
def test_a_killed_worker_hosting_pinned_instances_fails_the_run() -> None:
    # hybrid_multi: a pinned instance's state dies with its worker
    graph, killer = WorkflowGraph(), KillSelfOn(50)
    graph.connect(CountingProducer(), "output", killer, "input")
    graph.connect(killer, "output", Total(), "input")  # global grouping: pinned
    with pytest.raises(RunError, match=r"worker \d was killed by signal SIGKILL before finishing"):
        run(graph, "hybrid_multi", inputs=100, processes=2, batch_size=1)
    assert not child_processes()


@pytest.mark.timeout(120)
def test_a_fixed_pool_fails_when_its_last_worker_is_killed() -> None:
    graph, _ = _chain(KillSelfOn(5))  # every worker that takes item 5 dies
    with pytest.raises(RunError, match="the last worker left"):
        run(graph, "dyn_multi", inputs=20, processes=2, batch_size=1, max_deaths=5)
    assert not child_processes()


def _kill_workers(kills: int, every: float, killed: list[int]) -> None:
    """SIGKILL a running worker (never the sources: the highest slot) every
    ``every`` seconds, ``kills`` times: at whatever point it has reached."""
    while len(killed) < kills:
        time.sleep(every)
        workers = [p for p in multiprocessing.active_children() if p.name != "d4p-worker-3"]
        if workers and workers[0].pid is not None:
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(workers[0].pid)


@pytest.mark.timeout(120)
def test_workers_killed_from_outside_at_any_moment_lose_and_repeat_nothing() -> None:
    graph, last = _chain(Busy(1), MarksItsClose())
    killed: list[int] = []
    killer = threading.Thread(target=_kill_workers, args=(4, 0.25, killed), daemon=True)
    killer.start()
    result = run(graph, "dyn_auto_multi", inputs=3000, processes=3, batch_size=1,
                 max_deaths=10, policy=ScriptedPolicy(shrink_after=10_000))  # fmt: skip
    killer.join()
    expected = Counter(range(1, 3001))
    outputs = Counter(result.outputs[last]["output"])
    marks = outputs.pop(MarksItsClose.MARK)  # one per copy that was closed, not killed
    assert outputs == expected
    assert 1 <= marks <= result.extra["processes_started"] - 1
    assert _actions(result).count("lost") == len(killed) == 4
    assert not child_processes()


@pytest.mark.timeout(120)
def test_a_task_that_kills_its_workers_fails_the_run_after_max_deaths() -> None:
    graph, _ = _chain(Busy(2), KillSelfOn(400))
    with pytest.raises(RunError) as failure:
        run(graph, "dyn_auto_multi", inputs=600, processes=3, batch_size=1, max_deaths=2,
            policy=ScriptedPolicy(shrink_after=10_000))  # fmt: skip
    assert failure.value.pe_id is not None
    message = str(failure.value)
    assert "2 worker processes died holding this task" in message
    assert "was killed by signal SIGKILL" in message
    assert "max_deaths=2" in message
    assert not child_processes()


@pytest.mark.timeout(120)
def test_workers_that_die_holding_no_task_are_not_replaced_for_ever() -> None:
    graph, _ = _chain(DiesOnStart())
    with pytest.raises(RunError, match=r"died holding no task .*: a new worker would die too"):
        run(graph, "dyn_auto_multi", inputs=20, processes=2, policy=ScriptedPolicy(10_000))
    assert not child_processes()


@pytest.mark.timeout(120)
def test_a_killed_source_process_fails_the_run() -> None:
    graph, _ = _chain(source=_SourceKillsItself())
    with pytest.raises(RunError, match="the sources was killed by signal SIGKILL"):
        run(graph, "dyn_auto_multi", inputs=20, processes=2, policy=ScriptedPolicy(10_000))
    assert not child_processes()


def _exit_now() -> None:
    return None


def test_local_processes_sum_the_lifetimes_of_ended_processes() -> None:
    processes = LocalProcesses(multiprocessing.get_context("fork"))
    for n in range(2):
        processes.start(_exit_now, name=f"p{n}")
    processes.stop(graceful=True)
    total = processes.process_seconds()
    assert total > 0
    assert processes.process_seconds() == total  # ended processes stop counting


@pytest.mark.parametrize("mapping", ["dyn_multi", "dyn_auto_multi", "hybrid_multi"])
def test_every_local_dynamic_mapping_reports_process_seconds(mapping: str) -> None:
    graph, last = _chain(PassThrough())
    result = run(graph, mapping, inputs=50, processes=2)
    assert sorted(result.outputs[last]["output"]) == list(range(1, 51))
    assert result.process_seconds > 0
    assert result.extra["processes_started"] >= 2
