"""``d4p worker BACKEND`` end to end: a driver started with ``d4p run`` waits
for a worker started with ``d4p worker`` in another process, and the run gives
the same results as ``simple``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from d4p_core import available_mappings

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = "examples/wordcount.py"
PIPELINE = "d4p_core.testing.workflows:build_pipeline"


def _d4p(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "d4p_cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _simple_results(target: str, iterations: str) -> str:
    """What ``simple`` prints for ``target``: the answer every mapping must give."""
    return subprocess.run(
        [sys.executable, "-m", "d4p_cli", "run", "simple", target, "-i", iterations, "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def _sorted_results(stdout: str) -> list[str]:
    return sorted(line for line in stdout.splitlines() if line.strip())


@pytest.mark.skipif("zmq_multi" not in available_mappings(), reason="d4p-zmq is not installed")
def test_a_zmq_run_takes_a_worker_started_with_d4p_worker() -> None:
    expected = _simple_results(WORKFLOW, "20")
    driver = _d4p(
        "run", "zmq_multi", WORKFLOW, "-i", "20", "-n", "3", "--remote-workers", "1",
        "--bind", "tcp://127.0.0.1:0", "--advertise", "127.0.0.1", "--worker-timeout", "30",
        "--quiet",
    )  # fmt: skip
    worker = None
    try:
        assert driver.stderr is not None
        joined = ""
        for line in driver.stderr:  # the driver prints how to start a worker
            joined += line
            match = re.search(r"(?:D4P_ZMQ_AUTH_KEY=(\S+) )?d4p worker zmq --connect (\S+)", line)
            if match:
                break
        else:
            pytest.fail(f"the driver never printed a worker command:\n{joined}")
        env = dict(os.environ)
        if match.group(1):
            env["D4P_ZMQ_AUTH_KEY"] = match.group(1)
        worker = _d4p("worker", "zmq", "--connect", match.group(2), env=env)
        _, worker_err = worker.communicate(timeout=120)
        out, err = driver.communicate(timeout=120)
        assert worker.returncode == 0, worker_err
        assert driver.returncode == 0, joined + err
        assert _sorted_results(out) == _sorted_results(expected)
    finally:
        for process in (driver, worker):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.skipif("dyn_redis" not in available_mappings(), reason="d4p-redis is not installed")
def test_a_dyn_redis_run_without_local_workers_is_served_by_d4p_worker(redis_url: str) -> None:
    expected = _simple_results(PIPELINE, "30")
    worker = _d4p("worker", "redis", "--redis-url", redis_url, "--run", "cli-test", "--wait", "60")
    driver = _d4p(
        "run", "dyn_redis", PIPELINE, "-i", "30", "--redis-url", redis_url, "--workers", "0",
        "--run-id", "cli-test", "--quiet",
    )  # fmt: skip
    try:
        out, err = driver.communicate(timeout=120)
        _, worker_err = worker.communicate(timeout=60)
        assert driver.returncode == 0, err
        assert worker.returncode == 0, worker_err
        assert _sorted_results(out) == _sorted_results(expected)
    finally:
        for process in (driver, worker):
            if process.poll() is None:
                process.kill()
                process.wait()
