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
from d4p_core.testing.processes import child_processes, children_of, subprocess_env, wait_gone
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


MAIN_SCRIPT = """
from d4p_core import IterativePE, ProducerPE, WorkflowGraph, run

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

if __name__ == "__main__":
    graph = WorkflowGraph()
    graph.connect(Count(), "output", Square(), "input")
    result = run(graph, "zmq_multi", inputs=5, processes=2, start_method="spawn")
    print(sorted(result.outputs["Square1"]["output"]))
"""


def test_pes_defined_in_the_users_script(tmp_path: Path) -> None:
    script = tmp_path / "my_workflow.py"
    script.write_text(MAIN_SCRIPT)
    completed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[1, 4, 9, 16, 25]"


ENDLESS_DRIVER = """
import sys
from d4p_core import WorkflowGraph, run
from d4p_core.testing.pes import CountingProducer, Hangs
from d4p_zmq_tests._pes import build_flood
if sys.argv[1] != "flood":  # the marker file the hanging PE creates
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", Hangs(sys.argv[1]), "input")
    run(graph, "zmq_multi", inputs=10**9, processes=2)
run(build_flood(10**9, 100), "zmq_multi", processes=2)
"""


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize("workload", ["flood", "hangs"])
@pytest.mark.timeout(60)
def test_workers_end_when_the_driver_is_killed(workload: str, tmp_path: Path) -> None:
    # "hangs": a worker stuck in a PE never sees the driver's socket close;
    # on Linux the kernel tells it (PR_SET_PDEATHSIG). The driver is killed
    # only once the PE hangs.
    if workload == "hangs" and not sys.platform.startswith("linux"):
        pytest.skip("only Linux ends a worker whose PE never returns")
    marker = tmp_path / "stuck" if workload == "hangs" else None
    package_root = str(Path(__file__).resolve().parents[1])
    driver = subprocess.Popen(
        [sys.executable, "-c", ENDLESS_DRIVER, "flood" if marker is None else str(marker)],
        env=subprocess_env(package_root),
    )
    try:
        deadline = time.monotonic() + 30
        workers: list[int] = []
        while time.monotonic() < deadline and (
            len(workers) < 2 or (marker is not None and not marker.exists())
        ):
            workers = children_of(driver.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, "the driver did not start its workers"
        assert marker is None or marker.exists(), "the PE never started to hang"
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    left = wait_gone(workers, timeout=30)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "workers outlived their killed driver"
