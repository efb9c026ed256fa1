"""How an MPI job launched by d4p ends badly: a rank that crashes, a rank
killed from outside, the driver killed or interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from d4p_core import GenericPE, RunError, WorkflowGraph, run
from d4p_core.testing import child_processes
from d4p_core.testing.pes import CountingProducer, PassThrough
from d4p_core.testing.processes import children_of, subprocess_env, wait_gone

from ._pes import KillsItsRank, UnloadableOnRank1

PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])


def _chain(middle: GenericPE) -> WorkflowGraph:
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", middle, "input")
    graph.connect(middle, "output", PassThrough(), "input")
    return graph


@pytest.mark.timeout(60)
def test_a_rank_that_crashes_is_named_with_its_instances() -> None:
    with pytest.raises(RunError) as failure:
        run(_chain(UnloadableOnRank1()), "mpi", inputs=5, processes=3)
    message = str(failure.value)
    assert message.startswith("rank 1 (hosting "), message
    assert "crashed: ImportError: no such module on this host" in message
    assert "__setstate__" in (failure.value.remote_traceback or "")
    assert not child_processes()


@pytest.mark.timeout(60)
def test_a_killed_rank_ends_the_job_with_core_wording() -> None:
    # mpiexec reports a rank killed by a signal as its exit status, the only
    # thing the driver learns; MPI's own message above names the signal.
    with pytest.raises(RunError, match=r"^the MPI job \(mpiexec -n 3\) .* before finishing$"):
        run(_chain(KillsItsRank()), "mpi", inputs=5, processes=3)
    assert not child_processes()


DRIVER = textwrap.dedent(
    """
    import sys
    from d4p_core import WorkflowGraph, run
    from d4p_core.testing.pes import CountingProducer, Hangs
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", Hangs(entered=sys.argv[1]), "input")
    run(graph, "mpi", inputs=5, processes=2)
    """
)


def _descendants(pid: int) -> list[int]:
    found = children_of(pid)
    for child in list(found):
        found.extend(_descendants(child))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["killed", "interrupted"])
@pytest.mark.timeout(90)
def test_the_job_ends_with_the_driver(how: signal.Signals, tmp_path: Path) -> None:
    """Killed, the driver takes mpiexec with it (and Hydra the ranks); on
    Ctrl-C sent to it alone, it stops the job before it exits."""
    marker = tmp_path / "stuck"
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(marker)], env=subprocess_env(PACKAGE_ROOT)
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not marker.exists():
            time.sleep(0.1)
        assert marker.exists(), "the PE never started to hang"
        job = _descendants(driver.pid)  # mpiexec, Hydra's proxy, the ranks
        assert len(job) >= 4, job
    finally:
        driver.send_signal(how)
        assert driver.wait(timeout=30) != 0
    alive = wait_gone(job, timeout=30)
    for pid in alive:  # do not leave them behind if the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"the MPI job outlived its killed driver: {alive}"
