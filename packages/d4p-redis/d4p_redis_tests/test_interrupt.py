"""Ctrl-C on the driver: the run's keys are deleted and no process is left.
A driver killed outright cannot clean up, but its workers still end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from d4p_core.testing.processes import children_of, subprocess_env, wait_gone
from d4p_redis import RunKeys, delete_run

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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_driver_takes_its_workers_along(redis_url: str, tmp_path: Path) -> None:
    run_id = "driver-killed"
    root = str(Path(__file__).resolve().parent.parent)
    env = subprocess_env(root)
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, "dyn_redis", run_id, str(tmp_path / "never")], env=env
    )
    client = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 60
        while len(children_of(driver.pid)) < 3:  # the sources' process (stuck in a PE) + 2 workers
            assert time.monotonic() < deadline
            time.sleep(0.01)
        workers = children_of(driver.pid)
        driver.kill()
        driver.wait(timeout=30)
        assert not wait_gone(workers, timeout=10), "worker processes outlived a killed driver"
    finally:
        if driver.poll() is None:
            driver.kill()
        delete_run(client, run_id)  # nobody was left to do it
        client.close()
