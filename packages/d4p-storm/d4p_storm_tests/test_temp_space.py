"""However a run ends, it leaves nothing in the temporary space.

Every LocalCluster JVM writes only in its scratch folder under ``TMPDIR``
(d4p_storm._scratch). The cases here are the ones where the driver cannot
clean up: it is SIGKILLed mid-run (the JVM notices its input end and
removes the folder itself, with its own JVM and with the shared one), it
is interrupted with Ctrl-C (one line, exit 130, cleaned up as after any
run), or it and its JVM were both killed (the next start sweeps the
folder: nobody holds its lock any more). The autouse fixtures of
``conftest`` check every test's ``TMPDIR`` and ``/tmp`` afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from d4p_core.testing.processes import interrupt_like_a_terminal, subprocess_env, wait_gone
from d4p_storm._scratch import PREFIX, Scratch, sweep
from d4p_storm._submit import REUSE_ENV

from .leftovers import descendants, launcher_jvms

HANGING_WORKFLOW = """
import os

from d4p_core import WorkflowGraph
from d4p_core.testing.pes import CountingProducer, Hangs

graph = WorkflowGraph()
graph.connect(CountingProducer(), "output", Hangs(os.environ["D4P_TEST_ENTERED"]), "input")
"""


def _hanging_run(tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    """``d4p run storm --local`` of a workflow whose PE hangs once it
    created the file ``entered`` (the run is under way)."""
    workflow = tmp_path / "hangs.py"
    workflow.write_text(HANGING_WORKFLOW)
    entered = tmp_path / "entered"
    argv = [sys.executable, "-m", "d4p_cli", "run", "storm", str(workflow), "--local", "-i", "3"]
    return argv, entered, subprocess_env(D4P_TEST_ENTERED=str(entered))


def _wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"the run ended ({process.returncode}) before it started"
        assert time.monotonic() < deadline, f"{path} was never created"
        time.sleep(0.05)


@pytest.mark.slow  # a real run on the LocalCluster (~11 s); full tier
@pytest.mark.parametrize("shared", [False, True], ids=["own JVM", "shared JVM"])
def test_a_killed_driver_leaves_nothing(
    shared: bool,
    launcher_built: None,
    tmp_path: Path,
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REUSE_ENV, "1" if shared else "0")
    argv, entered, env = _hanging_run(tmp_path)
    with subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as driver:
        try:
            _wait_for(entered, driver)
        finally:
            jvms = launcher_jvms(private_tmp)
            below = [pid for jvm in jvms for pid in descendants(jvm)]
            driver.kill()
    assert len(jvms) == 1, jvms
    assert below, "the hanging task was not found below the JVM"
    # The JVM holds the scratch folder's lock: a start now must not sweep it.
    assert sweep(private_tmp) == []
    assert wait_gone(jvms + below, timeout=90) == [], "the JVM or its tasks outlived the driver"
    assert sorted(path.name for path in private_tmp.iterdir()) == []


@pytest.mark.slow  # a real run on the LocalCluster (~11 s); full tier
def test_ctrl_c_prints_one_line_and_leaves_nothing(
    launcher_built: None, tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REUSE_ENV, "0")
    argv, entered, env = _hanging_run(tmp_path)
    ended = interrupt_like_a_terminal(argv, entered, env=env, timeout=180)
    assert ended.returncode == 130, ended.stderr
    assert ended.stderr == "d4p: interrupted\n"
    assert ended.stdout == ""
    assert ended.left_running == []
    assert launcher_jvms(private_tmp) == [], "the LocalCluster JVM outlived the driver"
    assert sorted(path.name for path in private_tmp.iterdir()) == []


_HOLDER = """
import sys, time
from d4p_storm._scratch import Scratch
scratch = Scratch.create()
(scratch.temp / "state").write_text("left by a JVM")
print(scratch.path, flush=True)
time.sleep(600)
"""


def test_a_folder_whose_owners_were_all_killed_is_swept_by_the_next_start(
    private_tmp: Path,
) -> None:
    """Driver and JVM both SIGKILLed: nobody removes the folder, but nobody
    holds its lock either, so the next start in that TMPDIR removes it."""
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER], env=subprocess_env(), stdout=subprocess.PIPE, text=True
    ) as owner:
        assert owner.stdout is not None
        left = Path(owner.stdout.readline().strip())
        assert left.parent == private_tmp and left.name.startswith(PREFIX)
        assert sweep(private_tmp) == [], "a folder in use was swept"
        owner.send_signal(signal.SIGKILL)
    assert (left / "tmp" / "state").exists()
    fresh = Scratch.create()
    try:
        assert not left.exists()
        assert [path.name for path in private_tmp.iterdir()] == [fresh.path.name]
    finally:
        fresh.remove()


def test_the_lock_lasts_while_any_process_holding_it_lives(private_tmp: Path) -> None:
    """The JVM inherits the folder's locked descriptor: once the driver let
    go of it, the JVM alone keeps the folder from being swept."""
    scratch = Scratch.create()
    assert sweep(private_tmp) == [], "this process's own folder was swept"
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        pass_fds=(scratch.fd,),
    ) as jvm_like:
        os.close(scratch.fd)
        assert sweep(private_tmp) == []
        assert jvm_like.stdin is not None
        jvm_like.stdin.close()
    assert sweep(private_tmp) == [scratch.path]
    assert list(private_tmp.iterdir()) == []
