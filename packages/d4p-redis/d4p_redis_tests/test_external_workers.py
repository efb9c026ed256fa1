"""Workers started as separate processes (``python -m d4p_redis.worker``,
what ``d4p worker redis`` runs) join a running run."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from d4p_core import RunResult, ServiceUnavailableError, load_graph, run
from d4p_core.testing.policies import ScriptedPolicy
from d4p_core.testing.processes import child_processes
from d4p_redis import RunKeys

from .pes import pipeline

WORKFLOW = """
import os
import time
from d4p_core import IterativePE, ProducerPE, WorkflowGraph

GATE = "@GATE@"


class Slow(ProducerPE):
    def _process(self, inputs):
        while not os.path.exists(GATE):
            time.sleep(0.01)
        for i in range(150):
            self.write("output", i)


class Triple(IterativePE):
    def _process(self, data):
        return 3 * data


graph = WorkflowGraph()
graph.connect(Slow(), "output", Triple(), "input")
"""


def _start_run(graph: Any, mapping: str, **options: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def go() -> None:
        try:
            box["result"] = run(graph, mapping, **options)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=go)
    thread.start()
    return thread, box


def _wait_for_run(url: str, run_id: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 30
        while not client.exists(RunKeys(run_id).spec):
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.01)
    finally:
        client.close()


def _wait_for_members(url: str, run_id: str, count: int) -> None:
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 60
        while int(client.get(RunKeys(run_id).members) or 0) < count:
            assert time.monotonic() < deadline, "the workers did not join"
            time.sleep(0.01)
    finally:
        client.close()


def _wait_for_local_processes(count: int) -> None:
    """Wait until the run started in a thread has forked its ``count`` local
    processes: a process forked while this thread starts a subprocess would
    inherit the pipe through which ``Popen`` learns that the program ran, and
    ``Popen`` would wait for that process to end."""
    deadline = time.monotonic() + 60
    while len(child_processes()) < count:
        assert time.monotonic() < deadline, "the run's processes did not start"
        time.sleep(0.01)


def _worker(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "d4p_redis.worker", "--redis-url", url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else {**os.environ, **env},
    )


def test_external_workers_only(redis_url: str, tmp_path: Path) -> None:
    n = 400
    gate = tmp_path / "gate"
    # Started before the run: they wait for it (one by id, one for any run).
    workers = [
        _worker(redis_url, "--run", "ext", "--wait", "60"),
        _worker(redis_url, "--wait", "60"),
    ]
    thread, box = _start_run(
        pipeline(n, gate=str(gate)), "dyn_redis", processes=2, workers=0, run_id="ext"
    )
    _wait_for_members(redis_url, "ext", 2)
    gate.touch()  # both joined: let the source go
    thread.join(timeout=120)
    outcomes = [w.communicate(timeout=60) for w in workers]
    assert "error" not in box, box.get("error")
    result: RunResult = box["result"]
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(n)]
    assert [w.returncode for w in workers] == [0, 0], outcomes
    assert result.extra["local_workers"] == 0
    assert result.extra["workers"] == 2


def test_external_worker_helps_local_ones(redis_url: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    thread, box = _start_run(
        pipeline(300, gate=str(gate)), "hybrid_redis", processes=1, run_id="mixed"
    )
    _wait_for_run(redis_url, "mixed")
    _wait_for_local_processes(2)  # the sources and a worker
    worker = _worker(redis_url, "--run", "mixed")
    _wait_for_members(redis_url, "mixed", 2)
    gate.touch()
    thread.join(timeout=120)
    worker.communicate(timeout=60)
    assert "error" not in box, box.get("error")
    assert sorted(box["result"].outputs["Double1"]["output"]) == [2 * i for i in range(300)]
    assert worker.returncode == 0
    assert box["result"].extra["workers"] == 2


def test_other_workflow_version_refused(redis_url: str, tmp_path: Path) -> None:
    path = tmp_path / "wf_version.py"
    gate = tmp_path / "gate"
    workflow = WORKFLOW.replace("@GATE@", str(gate))
    path.write_text(workflow)
    graph = load_graph(str(path))
    thread, box = _start_run(graph, "dyn_redis", processes=1, run_id="versions")
    _wait_for_run(redis_url, "versions")
    _wait_for_local_processes(2)
    path.write_text(workflow.replace("3 * data", "4 * data"))
    worker = _worker(redis_url, "--run", "versions")
    _, stderr = worker.communicate(timeout=60)
    gate.touch()
    thread.join(timeout=120)
    assert worker.returncode == 6, (stderr, box)
    assert "fingerprint" in stderr
    assert "error" not in box, box.get("error")
    assert sorted(box["result"].outputs["Triple1"]["output"]) == [3 * i for i in range(150)]


def test_worker_without_run(redis_url: str) -> None:
    worker = _worker(redis_url)
    _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 7
    assert "no d4p run" in stderr


def test_worker_with_wrong_key_refused(redis_url: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    thread, box = _start_run(
        pipeline(200, gate=str(gate)), "dyn_redis", processes=1, run_id="keyed", auth_key="k1"
    )
    _wait_for_run(redis_url, "keyed")
    _wait_for_local_processes(2)
    worker = _worker(redis_url, "--run", "keyed", "--auth-key", "k2")
    _, stderr = worker.communicate(timeout=60)
    gate.touch()
    thread.join(timeout=120)
    assert worker.returncode == 6
    assert "not signed with our key" in stderr
    assert "error" not in box, box.get("error")


@pytest.mark.parametrize(
    "mapping", ["dyn_redis", pytest.param("dyn_auto_redis", marks=pytest.mark.slow)]
)
def test_killed_external_worker(redis_url: str, tmp_path: Path, mapping: str) -> None:
    """An external worker dies on its first task: its heartbeats stop, its
    tasks go to the local worker (dyn_redis claims them once idle;
    dyn_auto_redis hands them back as soon as its count of workers drops it),
    the run still gives every result."""
    gate = tmp_path / "gate"
    options: dict[str, Any] = (
        {"policy": ScriptedPolicy(shrink_after=10_000, bulk=2)}
        if mapping == "dyn_auto_redis"
        else {"claim_idle": 0.5}
    )
    thread, box = _start_run(
        pipeline(200, gate=str(gate)),
        mapping,
        processes=1,
        run_id="lost",
        batch_size=2,
        read_count=1,
        **options,
    )
    _wait_for_run(redis_url, "lost")
    _wait_for_local_processes(2)
    worker = _worker(redis_url, "--run", "lost", env={"D4P_TEST_KILL_ME": "1"})
    _wait_for_members(redis_url, "lost", 2)
    gate.touch()
    worker.communicate(timeout=60)
    thread.join(timeout=120)
    assert worker.returncode == -9
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert sorted(result.outputs["Double1"]["output"]) == [2 * i for i in range(200)]
    assert result.extra["dead_workers"] == [1]
    if mapping == "dyn_auto_redis":
        assert "lost" in [entry["action"] for entry in result.extra["scaling_actions"]]


def test_no_worker_joins(tmp_path: Path) -> None:
    """--workers 0 and nobody comes: a clear error once --wait-workers has
    passed, the sources' process stopped, nothing left on the server."""
    with pytest.raises(ServiceUnavailableError) as error:
        run(
            pipeline(50, gate=str(tmp_path / "never")),
            "dyn_redis",
            processes=2,
            workers=0,
            wait_workers=1,
            run_id="lonely",
        )
    assert "no worker joined run lonely within 1 s (--wait-workers)" in str(error.value)
    assert "d4p worker redis --redis-url URL --run lonely" in str(error.value)


def test_no_worker_joins_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "wf_lonely.py"
    path.write_text(WORKFLOW.replace("@GATE@", str(tmp_path / "never")))
    options = ["--workers", "0", "--wait-workers", "1", "--run-id", "lonely-cli"]
    ended = subprocess.run(
        [sys.executable, "-m", "d4p_cli", "run", "dyn_redis", str(path), *options],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ended.returncode == 7, ended.stderr
    assert ended.stdout == ""
    invitation, error = ended.stderr.splitlines()
    assert invitation.startswith("d4p: run lonely-cli waits up to 1 s for workers: ")
    assert "d4p worker redis --redis-url unix://" in invitation
    assert invitation.endswith(" --run lonely-cli")
    assert "no worker joined run lonely-cli within 1 s" in error


def test_every_external_worker_died(redis_url: str, tmp_path: Path) -> None:
    """The only worker dies: no one else joins within --wait-workers."""
    gate = tmp_path / "gate"
    thread, box = _start_run(
        pipeline(20, gate=str(gate)),
        "dyn_redis",
        processes=1,
        workers=0,
        wait_workers=1,
        run_id="orphaned",
    )
    _wait_for_run(redis_url, "orphaned")
    _wait_for_local_processes(1)  # the sources
    worker = _worker(redis_url, "--run", "orphaned", env={"D4P_TEST_KILL_ME": "1"})
    _wait_for_members(redis_url, "orphaned", 1)
    gate.touch()
    worker.communicate(timeout=60)
    thread.join(timeout=120)
    assert worker.returncode == -9
    assert isinstance(box.get("error"), ServiceUnavailableError), box
    assert "no worker joined run orphaned after its last worker died within 1 s" in str(
        box["error"]
    )
