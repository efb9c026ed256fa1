"""How an MPI job launched by d4p ends badly: a rank that crashes, a rank
killed from outside, the driver killed or interrupted. Whichever way, no
process is left, and nothing in the temporary directory (checked after
every test of this package: see ``conftest.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from d4p_core import GenericPE, RunError, WorkflowGraph, run
from d4p_core.testing.pes import CountingProducer, Failing, KillSelfOn, PassThrough
from d4p_core.testing.processes import children_of, subprocess_env, wait_gone

from ._pes import UnloadableOnRank1

PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])


def descendants(pid: int) -> list[int]:
    """Every running process under ``pid`` (Linux)."""
    found = children_of(pid)
    for child in list(found):
        found.extend(descendants(child))
    return found


def _chain(middle: GenericPE) -> WorkflowGraph:
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", middle, "input")
    graph.connect(middle, "output", PassThrough(), "input")
    return graph


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("no_leftover_processes")
def test_a_rank_that_crashes_is_named_with_its_instances() -> None:
    middle = UnloadableOnRank1()
    with pytest.raises(RunError) as failure:
        run(_chain(middle), "mpi", inputs=5, processes=3)
    assert str(failure.value) == (
        f"worker 1 (hosting {middle.id}[0]) crashed: ImportError: no such module on this host"
    )
    assert "__setstate__" in (failure.value.remote_traceback or "")


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("no_leftover_processes")
def test_a_killed_rank_ends_the_job_with_core_wording() -> None:
    # The rank's watcher saw the signal; mpiexec alone would only give its status.
    killer = KillSelfOn(3)
    with pytest.raises(RunError) as failure:
        run(_chain(killer), "mpi", inputs=5, processes=3)
    assert str(failure.value) == (
        f"worker 1 (hosting {killer.id}[0]) was killed by signal SIGKILL before finishing"
    )


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("no_leftover_processes")
def test_a_failing_pe_aborts_the_job() -> None:
    """Rank 0 reports the failure and ends the job with MPI_Abort, after
    which Hydra's proxy does not remove its topology file: it must not have
    written one in /tmp."""
    failing = Failing("process")
    with pytest.raises(RunError, match="failing on purpose on 3") as failure:
        run(_chain(failing), "mpi", inputs=5, processes=3)
    assert failure.value.pe_id == failing.id


DRIVER = textwrap.dedent(
    """
    import sys
    from d4p_core import WorkflowGraph, run
    from d4p_core.testing.pes import CountingProducer, Hangs
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", Hangs(entered=sys.argv[1]), "input")
    run(graph, "mpi", inputs=5, processes=int(sys.argv[2]))
    """
)

ENDINGS = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("how", ENDINGS, ids=["killed", "terminated", "interrupted"])
@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.timeout(90)
def test_the_job_ends_with_the_driver(
    how: signal.Signals, ranks: int, tmp_path: Path, private_tmp: Path
) -> None:
    """Killed (SIGKILL), the driver takes mpiexec with it (and Hydra the
    ranks and their watchers), and the watchers remove the job's directory;
    on a SIGTERM (core's template ends the run then) or a SIGINT sent to it
    alone it stops the job and removes the directory itself. Nothing is left in the
    temporary directory either way (this test's own, checked after every
    test, and /tmp for Hydra's file)."""
    marker = tmp_path / "stuck"
    env = subprocess_env(PACKAGE_ROOT)
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(marker), str(ranks)], env=env)
    try:
        job = _job_of(driver, marker)
    finally:
        driver.send_signal(how)
        assert driver.wait(timeout=30) != 0
    _assert_gone(job)
    assert not list(private_tmp.iterdir())


def _job_of(driver: subprocess.Popen[Any], marker: Path) -> list[int]:
    """Once the PE is stuck: mpiexec, Hydra's proxy, the watchers, the ranks."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not marker.exists():
        time.sleep(0.1)
    assert marker.exists(), "the PE never started to hang"
    job = descendants(driver.pid)
    assert len(job) >= 6, job
    return job


def _assert_gone(job: list[int]) -> None:
    alive = wait_gone(job, timeout=30)
    for pid in alive:  # do not leave them behind if the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"the MPI job outlived its driver: {alive}"


HANGING_WORKFLOW = """
import os

from d4p_core import WorkflowGraph
from d4p_core.testing.pes import CountingProducer, Hangs

graph = WorkflowGraph()
graph.connect(CountingProducer(), "output", Hangs(os.environ["D4P_TEST_ENTERED"]), "input")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("ranks", [2, 4])
@pytest.mark.timeout(90)
def test_ctrl_c_prints_one_line_and_leaves_nothing(ranks: int, tmp_path: Path) -> None:
    """``d4p run mpi`` in a terminal, Ctrl-C: the terminal sends SIGINT to
    its foreground process group. The driver alone gets it (mpiexec runs in
    a group of its own, and the ranks ignore SIGINT), kills mpiexec, and
    prints one line; no rank prints a traceback, Hydra prints nothing."""
    workflow = tmp_path / "hangs.py"
    workflow.write_text(HANGING_WORKFLOW)
    entered = tmp_path / "entered"
    command = [sys.executable, "-m", "d4p_cli", "run", "mpi", str(workflow), "-i", "3"]
    with subprocess.Popen(
        [*command, "-n", str(ranks)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(D4P_TEST_ENTERED=str(entered)),
        start_new_session=True,  # a terminal's foreground group: the driver leads it
    ) as driver:
        try:
            job = _job_of(driver, entered)
        finally:
            os.killpg(driver.pid, signal.SIGINT)
        stdout, stderr = driver.communicate(timeout=30)
    assert (driver.returncode, stderr, stdout) == (130, "d4p: interrupted\n", "")
    _assert_gone(job)
