"""Behaviour of the multiprocessing mappings beyond the conformance suite:
killed workers, back-pressure, workflows loaded from a file under spawn, a
slow stage in the dynamic mappings, autoscaling records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import d4p_core
from d4p_core import GraphError, RunError, run
from d4p_core.testing import child_processes
from d4p_core.testing.pes import KillSelfOn
from d4p_core.testing.processes import descendants_of, subprocess_env, wait_gone

from ._mp_pes import Busy, SleepOn, build_chain

PROCESS_MAPPINGS = ["multi", "dyn_multi", "dyn_auto_multi", "hybrid_multi"]


@pytest.mark.parametrize("mapping", PROCESS_MAPPINGS)
@pytest.mark.timeout(60)
def test_a_killed_worker_is_reported(mapping: str) -> None:
    graph = build_chain(KillSelfOn(5))
    with pytest.raises(RunError) as failure:
        run(graph, mapping, inputs=20, processes=4)
    assert "SIGKILL" in str(failure.value)
    assert not child_processes()


@pytest.mark.parametrize("mapping", ["dyn_multi", "dyn_auto_multi", "hybrid_multi"])
@pytest.mark.timeout(120)
def test_a_slow_stage_loses_nothing(mapping: str) -> None:
    result = run(build_chain(SleepOn(3, seconds=3.0)), mapping, inputs=10, processes=3)
    assert sorted(result.outputs["PassThrough3"]["output"]) == list(range(1, 11))


@pytest.mark.parametrize("mapping", PROCESS_MAPPINGS)
def test_metrics_per_instance(mapping: str) -> None:
    result = run(build_chain(Busy(0.1)), mapping, inputs=30, processes=3)
    assert result.metrics["Busy2"].items_in == 30
    assert result.metrics["Busy2"].busy_seconds > 0
    per_copy = result.instance_metrics["Busy2"]
    assert sum(m.items_in for m in per_copy.values()) == 30


def test_multi_refuses_too_few_processes_without_fusion() -> None:
    with pytest.raises(GraphError, match="4 instances but only 2 processes"):
        run(build_chain(Busy(0.1)), "multi", inputs=3, processes=2, fuse="never")


def test_dynamic_mappings_refuse_stateful_graphs_before_starting() -> None:
    from d4p_core.testing.workflows import build_word_count

    with pytest.raises(d4p_core.UnsupportedGraphError) as refused:
        run(build_word_count(), "dyn_multi", inputs=3, processes=3)
    message = str(refused.value)
    assert "WordCounter1" in message
    assert "multi" in message
    assert "hybrid_multi" in message
    assert not child_processes()


def test_autoscaling_decisions_are_recorded() -> None:
    # 800 items of 5 ms: a backlog for longer than the policy's window.
    result = run(build_chain(Busy(5)), "dyn_auto_multi", inputs=800, processes=4, batch_size=1)
    assert sorted(result.outputs["PassThrough3"]["output"]) == list(range(1, 801))
    decisions = result.extra["autoscaling"]
    assert decisions, "a long backlog of slow items must make the pool grow"
    for decision in decisions:
        assert set(decision) == {"time", "in_flight", "active_before", "active_after", "reason"}
        assert decision["reason"]
    assert 0 < result.extra["worker_seconds"] <= 3 * result.elapsed_seconds + 1


WORKFLOW_FILE = textwrap.dedent(
    """
    from d4p_core import IterativePE, ProducerPE, WorkflowGraph

    class Count(ProducerPE):
        def __init__(self):
            super().__init__()
            self.n = 0
        def _process(self, inputs):
            self.n += 1
            return self.n

    class Square(IterativePE):
        def _process(self, x):
            return x * x

    graph = WorkflowGraph()
    graph.connect(Count(), "output", Square(), "input")
    """
)


@pytest.mark.parametrize("mapping", PROCESS_MAPPINGS)
def test_workflow_file_by_path_under_spawn(mapping: str, tmp_path: Path) -> None:
    path = tmp_path / "squares_workflow.py"
    path.write_text(WORKFLOW_FILE)
    script = textwrap.dedent(
        f"""
        import json
        from d4p_core import load_graph, run
        graph = load_graph({str(path)!r})
        result = run(graph, {mapping!r}, inputs=6, processes=3, start_method="spawn")
        print(json.dumps(sorted(result.outputs["Square1"]["output"])))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == [1, 4, 9, 16, 25, 36]


TESTS_ROOT = str(Path(__file__).resolve().parent.parent)

BACKPRESSURE = textwrap.dedent(
    """
    import json, sys
    from d4p_core import run
    from d4p_core_tests._mp_pes import build_gated_backpressure
    graph = build_gated_backpressure(sys.argv[1], sys.argv[2])
    result = run(graph, MAPPING, inputs=TOTAL, processes=3)
    print(json.dumps(result.outputs["GatedCounter1"]["output"]))
    """
)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mapping", ["multi", "dyn_multi"])
def test_backpressure_holds_a_fast_producer(mapping: str, tmp_path: Path) -> None:
    """A consumer that takes nothing holds the producer back: it stalls after
    what the bounded queues and batches can hold (a small fraction of the
    run), and once the consumer goes on every item arrives exactly once."""
    total = 1_000_000
    progress, gate = tmp_path / "made", tmp_path / "gate"
    driver = subprocess.Popen(
        [
            sys.executable,
            "-c",
            BACKPRESSURE.replace("MAPPING", repr(mapping)).replace("TOTAL", str(total)),
            str(progress),
            str(gate),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(TESTS_ROOT),
    )
    try:
        made, unchanged_polls = -1, 0
        while unchanged_polls < 20:  # the producer made nothing new for 20 polls: it waits
            assert driver.poll() is None, driver.communicate()[1]
            time.sleep(0.05)
            now = int(progress.read_text()) if progress.exists() else 0
            unchanged_polls = unchanged_polls + 1 if now == made and now > 0 else 0
            made = now
        # Bounded by queue_size x batch_size per hop (multi: 16 x 256) or by the
        # shared queue's tasks (dyn_multi: 64 tasks of at most 64 x 16 items).
        assert made < total // 5, f"the producer ran ahead by {made} items"
        gate.touch()
        stdout, stderr = driver.communicate(timeout=240)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
    assert driver.returncode == 0, stderr
    assert sum(json.loads(stdout)) == total


ORPHAN_PARENT = textwrap.dedent(
    """
    from d4p_core import run
    from d4p_core_tests._mp_pes import build_slow_source
    run(build_slow_source(MARKER), MAPPING, inputs=100_000, processes=3, start_method=METHOD)
    """
)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
@pytest.mark.parametrize(
    ("stuck", "method"),
    [(False, None), (True, None), (True, "forkserver")],
    ids=["between-tasks", "in-a-pe-that-hangs", "in-a-pe-that-hangs-forkserver"],
)
@pytest.mark.parametrize("mapping", PROCESS_MAPPINGS)
@pytest.mark.timeout(60)
def test_workers_stop_when_the_parent_is_killed(
    mapping: str, stuck: bool, method: str | None, tmp_path: Path, private_tmp: Path
) -> None:
    # A worker stuck in a PE never checks on its parent: on Linux the kernel
    # tells it (PR_SET_PDEATHSIG; under forkserver, whose fork server is the
    # workers' parent, core's lifeline pipe). The parent is killed only once
    # the PE hangs. (A parent killed while it used forkserver leaves
    # multiprocessing's own pymp-* directory behind: in ``private_tmp``.)
    if stuck and not sys.platform.startswith("linux"):
        pytest.skip("only Linux ends a worker whose PE never returns")
    marker = tmp_path / "stuck" if stuck else None
    script = (
        ORPHAN_PARENT.replace("MAPPING", repr(mapping))
        .replace("MARKER", repr(None if marker is None else str(marker)))
        .replace("METHOD", repr(method))
    )
    parent = subprocess.Popen([sys.executable, "-c", script], env=subprocess_env(TESTS_ROOT))
    try:
        # dyn_auto_multi starts the sources and one worker; it grows only on
        # a backlog, which this slow source never builds.
        started = 2 if mapping == "dyn_auto_multi" else 3
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            len(descendants_of(parent.pid)) < started
            or (marker is not None and not marker.exists())
        ):
            time.sleep(0.1)
        assert marker is None or marker.exists(), "the PE never started to hang"
        workers = descendants_of(parent.pid)  # (under forkserver, the fork server's children)
        assert workers, "the run did not start its workers"
    finally:
        parent.kill()
        parent.wait()
    alive = wait_gone(workers, timeout=10)
    for pid in alive:  # do not leave them behind if the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers outlived their killed parent: {alive}"


@pytest.mark.parametrize("mapping", PROCESS_MAPPINGS)
def test_pes_defined_in_the_users_script_under_spawn(mapping: str, tmp_path: Path) -> None:
    script = tmp_path / "my_workflow.py"
    script.write_text(
        WORKFLOW_FILE
        + "\nif __name__ == '__main__':\n"
        + "    from d4p_core import run\n"
        + f"    result = run(graph, {mapping!r}, inputs=4, processes=2, start_method='spawn')\n"
        + "    print(sorted(result.outputs['Square1']['output']))\n"
    )
    completed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[1, 4, 9, 16]"


def _lambda_graph() -> d4p_core.WorkflowGraph:
    from d4p_core import SimpleFunctionPE
    from d4p_core.testing.pes import CountingProducer

    graph = d4p_core.WorkflowGraph()
    graph.connect(CountingProducer(), "output", SimpleFunctionPE(lambda x: x), "input")
    return graph


def _locked_graph() -> d4p_core.WorkflowGraph:
    """A PE holding a lock: no process can receive a copy of it."""
    from d4p_core import SimpleFunctionPE
    from d4p_core.testing.pes import CountingProducer

    holder = SimpleFunctionPE(abs)
    holder.lock = threading.Lock()  # type: ignore[attr-defined]
    graph = d4p_core.WorkflowGraph()
    graph.connect(CountingProducer(), "output", holder, "input")
    return graph


@pytest.mark.parametrize("mapping", PROCESS_MAPPINGS)
def test_lambdas_travel_by_value_under_spawn(mapping: str) -> None:
    result = run(_lambda_graph(), mapping, inputs=2, processes=2, start_method="spawn")
    assert sorted(next(iter(result.outputs.values()))["output"]) == [1, 2]


@pytest.mark.parametrize("mapping", PROCESS_MAPPINGS)
def test_pes_that_cannot_be_copied_name_the_mapping_and_the_way_out(mapping: str) -> None:
    with pytest.raises(GraphError) as refused:
        run(_locked_graph(), mapping, inputs=2, processes=2, start_method="spawn")
    message = str(refused.value)
    assert f"worker processes of {mapping} (start method 'spawn')" in message
    assert "preprocess()" in message and "'fork' start method" in message
    result = run(_locked_graph(), mapping, inputs=2, processes=2, start_method="fork")
    assert sorted(next(iter(result.outputs.values()))["output"]) == [1, 2]


def test_where_fork_cannot_help_it_is_not_suggested() -> None:
    from d4p_core.backend import GraphPayload

    with pytest.raises(GraphError) as refused:
        GraphPayload.create(_locked_graph().flat().by_id(), "zmq_multi")
    message = str(refused.value)
    assert "worker processes of zmq_multi:" in message and "preprocess()" in message
    assert "fork" not in message
