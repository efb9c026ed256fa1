"""How worker processes start and end: every start method, PEs defined in
the user's script, and no worker outliving a driver that was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from d4p_core import run
from d4p_core.testing import assert_same_multisets
from d4p_core.testing.processes import (
    child_processes,
    children_of,
    descendants_of,
    subprocess_env,
    wait_gone,
)
from d4p_core.testing.workflows import build_grouped_split_merge, build_word_count


@pytest.mark.parametrize(
    ("start_method", "transport"), [("spawn", "ipc"), ("forkserver", "tcp"), ("fork", "tcp")]
)
def test_every_start_method(start_method: str, transport: str) -> None:
    for build in (build_word_count, build_grouped_split_merge):
        reference = run(build(), "simple", inputs=30)
        result = run(
            build(),
            "zmq_multi",
            inputs=30,
            processes=4,
            start_method=start_method,
            transport=transport,
        )
        assert_same_multisets(result.outputs, reference.outputs)
    assert not child_processes()


ENDLESS_DRIVER = """
import sys
from d4p_core import WorkflowGraph, run
from d4p_core.testing.pes import CountingProducer, Hangs
from d4p_zmq_tests._pes import build_flood
start_method, marker = sys.argv[1], sys.argv[2]
if marker != "flood":  # the file the hanging PE creates
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", Hangs(marker), "input")
    run(graph, "zmq_multi", inputs=10**9, processes=2, start_method=start_method)
run(build_flood(10**9, 100), "zmq_multi", processes=2, start_method=start_method)
"""


def _bound_sockets(tmp: Path) -> set[str]:
    """The ipc socket files of the run in ``tmp`` (the driver's, the workers')."""
    return {socket.name for socket in tmp.glob("d4p-zmq-*/*")}


def _reached(moment: str, driver: int, tmp: Path, marker: Path) -> bool:
    if moment == "starting":  # its first worker (or helper) process exists
        return bool(children_of(driver))
    if moment == "running":  # every worker bound its socket: data flows
        return _bound_sockets(tmp) == {"driver", "w0", "w1"}
    return marker.exists()  # the PE hangs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
@pytest.mark.parametrize("moment", ["starting", "running", "hanging"])
@pytest.mark.timeout(60)
def test_a_killed_driver_leaves_no_process_and_no_file(
    moment: str, start_method: str, private_tmp: Path, tmp_path: Path
) -> None:
    # The driver is SIGKILLed while its workers start, while data flows, or
    # while a PE hangs (a worker stuck in a PE never sees the driver's socket
    # close; the kernel tells it, PR_SET_PDEATHSIG — under forkserver, whose
    # fork server is the parent, core's lifeline pipe). Its workers end, and
    # remove the run's ipc directory the driver could not.
    marker = tmp_path / "stuck"
    package_root = str(Path(__file__).resolve().parents[1])
    driver = subprocess.Popen(
        [
            sys.executable,
            "-c",
            ENDLESS_DRIVER,
            start_method,
            str(marker) if moment == "hanging" else "flood",
        ],
        env=subprocess_env(package_root),
    )
    try:
        deadline = time.monotonic() + 30
        while not _reached(moment, driver.pid, private_tmp, marker):
            assert time.monotonic() < deadline, f"the run never got to {moment!r}"
            time.sleep(0.01)
        driver.send_signal(signal.SIGSTOP)  # it starts no process while they are listed
        processes = descendants_of(driver.pid)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    left = wait_gone(processes, timeout=30)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "processes outlived their killed driver"
    # pymp-*: multiprocessing's own directory for the fork server's socket,
    # which any driver killed while it used forkserver leaves behind
    assert [p.name for p in private_tmp.iterdir() if not p.name.startswith("pymp-")] == []
