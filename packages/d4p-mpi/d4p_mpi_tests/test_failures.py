"""How an MPI job launched by d4p ends badly: a rank that crashes, a rank
killed from outside, the driver killed or interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from d4p_core import GenericPE, RunError, WorkflowGraph, run
from d4p_core.testing import child_processes
from d4p_core.testing.pes import CountingProducer, KillSelfOn, PassThrough
from d4p_core.testing.processes import children_of, subprocess_env, wait_gone

from ._pes import UnloadableOnRank1

PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])


def _job_directories() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("d4p-mpi-*"))


@pytest.fixture
def nothing_left_behind() -> Iterator[None]:
    """No process and no job directory (spec, result, watchers' records) outlives the run."""
    before = _job_directories()
    yield
    assert not child_processes()
    assert _job_directories() <= before


def _chain(middle: GenericPE) -> WorkflowGraph:
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", middle, "input")
    graph.connect(middle, "output", PassThrough(), "input")
    return graph


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("nothing_left_behind")
def test_a_rank_that_crashes_is_named_with_its_instances() -> None:
    middle = UnloadableOnRank1()
    with pytest.raises(RunError) as failure:
        run(_chain(middle), "mpi", inputs=5, processes=3)
    assert str(failure.value) == (
        f"worker 1 (hosting {middle.id}[0]) crashed: ImportError: no such module on this host"
    )
    assert "__setstate__" in (failure.value.remote_traceback or "")


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("nothing_left_behind")
def test_a_killed_rank_ends_the_job_with_core_wording() -> None:
    # The rank's watcher saw the signal; mpiexec alone would only give its status.
    killer = KillSelfOn(3)
    with pytest.raises(RunError) as failure:
        run(_chain(killer), "mpi", inputs=5, processes=3)
    assert str(failure.value) == (
        f"worker 1 (hosting {killer.id}[0]) was killed by signal SIGKILL before finishing"
    )


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
    """Killed, the driver takes mpiexec with it (and Hydra the ranks and
    their watchers); on Ctrl-C sent to it alone, it stops the job before it
    exits and removes the job's directory (a killed driver cannot)."""
    marker, temporary = tmp_path / "stuck", tmp_path / "tmp"
    temporary.mkdir()
    env = subprocess_env(PACKAGE_ROOT, TMPDIR=str(temporary))
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not marker.exists():
            time.sleep(0.1)
        assert marker.exists(), "the PE never started to hang"
        job = _descendants(driver.pid)  # mpiexec, Hydra's proxy, the watchers, the ranks
        assert len(job) >= 6, job
    finally:
        driver.send_signal(how)
        assert driver.wait(timeout=30) != 0
    alive = wait_gone(job, timeout=30)
    for pid in alive:  # do not leave them behind if the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"the MPI job outlived its killed driver: {alive}"
    if how == signal.SIGINT:
        assert not list(temporary.iterdir())
    else:  # only what the driver wrote before it was killed: no result, no record
        assert [path.name for path in temporary.glob("d4p-mpi-*/*")] == ["job.spec"]
