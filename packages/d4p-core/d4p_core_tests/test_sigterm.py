"""SIGTERM (``kill``, a service manager, a batch scheduler cancelling a job)
ends a run like Ctrl-C does: through the driver's clean-up, every worker
stopped, exit status 143 and nothing printed; on every mapping that starts
processes (core's mapping templates install it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from d4p_core.testing.processes import descendants_of, subprocess_env, wait_gone

DRIVER = textwrap.dedent(
    """
    import sys
    from d4p_core import WorkflowGraph, run
    from d4p_core.testing.pes import CountingProducer, Hangs

    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", Hangs(sys.argv[2]), "input")
    run(graph, sys.argv[1], inputs=10, processes=2)
    """
)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc")
@pytest.mark.parametrize("mapping", ["multi", "dyn_multi", "hybrid_multi"])
def test_sigterm_stops_the_run_and_its_workers(mapping: str, tmp_path: Path) -> None:
    entered = tmp_path / "entered"
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, mapping, str(entered)],
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not entered.exists() and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.05)
        assert entered.exists(), "the PE never started to hang"
        workers = descendants_of(driver.pid)
        assert workers, "the run started no worker"
        driver.send_signal(signal.SIGTERM)
        stdout, stderr = driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    left = wait_gone(workers, timeout=5)
    for pid in left:  # never leave them behind, even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert driver.returncode == 128 + signal.SIGTERM, stderr
    assert (stdout, stderr) == ("", "")
    assert not left, f"workers outlived a SIGTERMed run: {left}"


def test_sigterm_handling_is_left_to_whoever_set_it(tmp_path: Path) -> None:
    """A program with its own SIGTERM handler keeps it during a run."""
    script = textwrap.dedent(
        """
        import signal
        from d4p_core import run
        from d4p_core.testing.workflows import build_pipeline

        def mine(signum, frame):
            pass

        signal.signal(signal.SIGTERM, mine)
        run(build_pipeline(), "multi", inputs=3, processes=2)
        assert signal.getsignal(signal.SIGTERM) is mine
        print("kept")
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "kept\n"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_meanwhile_dies_by_the_signal() -> None:
    # CI once caught a worker, signalled with its process group while it was
    # being forked, print the inherited handler's SystemExit from random's
    # at-fork reseeding and carry on
    from d4p_core.runtime.signals import sigterm_ends_the_run

    with sigterm_ends_the_run():
        child = os.fork()
        if child == 0:  # pragma: no cover - the child
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            except BaseException:
                os._exit(3)
            os._exit(4)
        _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status), os.waitstatus_to_exitcode(status)
    assert os.WTERMSIG(status) == signal.SIGTERM


_SIGTERM_AT_FORK: list[bool] = []


def _sigterm_self_while_forking() -> None:
    if _SIGTERM_AT_FORK:
        _SIGTERM_AT_FORK.clear()
        os.kill(os.getpid(), signal.SIGTERM)


os.register_at_fork(after_in_parent=_sigterm_self_while_forking)


def test_sigterm_while_a_worker_is_forked_still_ends_the_driver() -> None:
    # CI caught a driver, signalled with its group while it forked a worker,
    # raise its SystemExit inside logging's at-fork callback, where it was
    # printed and lost: the run went on. Held while a worker starts, the
    # signal ends the driver right after the start.
    import multiprocessing

    from d4p_core.runtime.signals import sigterm_ends_the_run
    from d4p_core.runtime.supervision import LocalProcesses

    processes = LocalProcesses(multiprocessing.get_context("fork"))
    try:
        _SIGTERM_AT_FORK.append(True)
        with pytest.raises(SystemExit) as ended, sigterm_ends_the_run():
            processes.start(time.sleep, 30, name="sleeper")
        assert ended.value.code == 128 + signal.SIGTERM
        assert len(processes.processes) == 1  # recorded: the driver stops it
    finally:
        _SIGTERM_AT_FORK.clear()
        processes.stop(graceful=False)
