"""Ctrl-C and SIGTERM on ``d4p run zmq_multi``, sent as a terminal or a
service manager sends them: to the whole process group. The driver alone
reacts (its workers ignore SIGINT), stops its workers and removes its files:
one line for Ctrl-C, none for SIGTERM, nothing left running or on disk,
whether the run is under way or its workers are still starting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from d4p_core.testing.processes import children_of, session_processes, subprocess_env, wait_gone

pytest.importorskip("d4p_cli", reason="needs the d4p command (d4p-cli)")

WORKFLOW = """
import os

from d4p_zmq_tests._pes import build_flood

graph = build_flood(10**9, 100, os.environ["D4P_TEST_ENTERED"])  # runs until it is stopped
"""


def _d4p() -> list[str]:
    script = Path(sys.executable).with_name("d4p")
    return [str(script)] if script.exists() else [sys.executable, "-m", "d4p_cli"]


def _under_way(driver: int, entered: Path, moment: str) -> bool:
    if moment == "starting":  # the first worker process exists
        return bool(children_of(driver))
    return entered.exists()  # the producer PE runs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    ("signum", "status", "stderr"),
    [(signal.SIGINT, 130, "d4p: interrupted\n"), (signal.SIGTERM, 143, "")],
    ids=["ctrl-c", "sigterm"],
)
@pytest.mark.parametrize("transport", ["ipc", "tcp"])
@pytest.mark.parametrize("moment", ["starting", "running"])
@pytest.mark.timeout(60)
def test_a_stopped_run_says_one_line_and_leaves_nothing(
    signum: int,
    status: int,
    stderr: str,
    transport: str,
    moment: str,
    clean_tmp: Path,
    tmp_path: Path,
) -> None:
    statuses = {status}
    if moment == "starting" and signum == signal.SIGTERM:
        # before its workers are started the driver leaves SIGTERM to Python,
        # which ends it on the spot; its workers then clean up after it
        statuses.add(-signal.SIGTERM)
    workflow, entered = tmp_path / "endless.py", tmp_path / "entered"
    workflow.write_text(WORKFLOW)
    package_root = str(Path(__file__).resolve().parents[1])
    command = [*_d4p(), "run", "zmq_multi", str(workflow), "-n", "2", "--transport", transport]
    driver = subprocess.Popen(
        command,
        env=subprocess_env(package_root, D4P_TEST_ENTERED=str(entered)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as in a terminal
    )
    try:
        deadline = time.monotonic() + 30
        while not _under_way(driver.pid, entered, moment):
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.005)
        os.killpg(driver.pid, signum)
        out, err = driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    assert driver.returncode in statuses, err
    assert (out, err) == ("", stderr)
    assert wait_gone(session_processes(driver.pid), timeout=10) == [], "processes outlived the run"
