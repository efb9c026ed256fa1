"""Ctrl-C: the run's keys are deleted and no process is left. In a
terminal (SIGINT to the whole process group) ``d4p run`` prints one line
and exits 130: the workers ignore the signal and the driver stops them.
(A driver killed outright: see test_lease.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from d4p_core.testing.processes import (
    children_of,
    interrupt_like_a_terminal,
    subprocess_env,
    wait_gone,
)
from d4p_redis import ENV_URL, RunKeys

DRIVER = """
import sys
from d4p_core import run
from d4p_redis_tests.pes import pipeline

run(pipeline(100, gate=sys.argv[3]), sys.argv[1], processes=2, run_id=sys.argv[2])
"""


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize("mapping", ["dyn_redis", "redis"])
def test_ctrl_c_deletes_the_run(redis_url: str, tmp_path: Path, mapping: str) -> None:
    run_id = f"interrupted-{mapping}"
    root = str(Path(__file__).resolve().parent.parent)
    env = subprocess_env(root)
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, mapping, run_id, str(tmp_path / "never")],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 60
        while not client.exists(RunKeys(run_id).spec):
            assert driver.poll() is None, driver.communicate()[1]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        expected = 3 if mapping == "dyn_redis" else 2  # the sources' process + 2 workers
        while len(children_of(driver.pid)) < expected:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        workers = children_of(driver.pid)
        driver.send_signal(signal.SIGINT)
        _, stderr = driver.communicate(timeout=30)
        assert driver.returncode != 0
        assert "KeyboardInterrupt" in stderr
        assert not list(client.scan_iter(match=f"d4p:{{{run_id}}}:*"))
        assert not wait_gone(workers, timeout=10), "worker processes outlived the driver"
    finally:
        if driver.poll() is None:
            driver.kill()
        client.close()


HANGING_WORKFLOW = """
import os

from d4p_core import WorkflowGraph
from d4p_core.testing.pes import CountingProducer, Hangs

graph = WorkflowGraph()
graph.connect(CountingProducer(), "output", Hangs(os.environ["D4P_TEST_ENTERED"]), "input")
"""


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (Linux)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if text.encode() in handle.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    ("mapping", "server"),
    [
        ("redis", "shared"),
        ("dyn_redis", "shared"),
        ("dyn_auto_redis", "shared"),
        ("hybrid_redis", "shared"),
        ("redis", "private"),
        ("hybrid_redis", "private"),
    ],
)
def test_ctrl_c_in_a_terminal(redis_url: str, tmp_path: Path, mapping: str, server: str) -> None:
    """``d4p run`` interrupted as a terminal does: one line, exit 130, no
    process, no key, and a private server stopped with its directory gone."""
    workflow = tmp_path / "hangs.py"
    workflow.write_text(HANGING_WORKFLOW)
    entered = tmp_path / "entered"
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = subprocess_env(D4P_TEST_ENTERED=str(entered), TMPDIR=str(temp))
    if server == "private":
        del env[ENV_URL]
    run_id = f"ctrl-c-{mapping}"
    command = ["-m", "d4p_cli", "run", mapping, str(workflow), "-i", "3", "-n", "3"]
    ended = interrupt_like_a_terminal(
        [sys.executable, *command, "--run-id", run_id],
        entered,
        env=env,
    )
    assert ended.returncode == 130, ended.stderr
    assert ended.stderr == "d4p: interrupted\n"
    assert ended.stdout == ""
    assert ended.left_running == []
    client = redis.Redis.from_url(redis_url)
    try:
        assert not list(client.scan_iter(match=RunKeys(run_id).prefix + "*"))
    finally:
        client.close()
    assert not wait_gone(_processes_mentioning(str(temp)), timeout=10), "a server was left"
    assert not [p.name for p in temp.iterdir() if p.name.startswith("d4p-redis-")]
