"""Run one command in a subprocess and measure its whole process tree."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measured", "measure"]


@dataclass(frozen=True)
class Measured:
    """Wall time, CPU seconds and peak RSS of one subprocess run."""

    exit_code: int
    timed_out: bool
    wall_seconds: float
    ended_wall: float
    """``time.time()`` when the process had exited (to compare with item times)."""
    cpu_seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str


def _tail(path: Path, limit: int = 4000) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    return text[-limit:]


def measure(
    command: list[str], env: dict[str, str], timeout: float, workdir: Path, cwd: Path
) -> Measured:
    """Run ``command``; kill its whole process group after ``timeout`` seconds.

    CPU seconds come from ``getrusage(RUSAGE_CHILDREN)`` before and after (the
    child and every descendant it waited for); peak RSS from ``wait4`` (the
    largest resident set in the tree).
    """
    out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        ended_wall = time.time()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    # Orphans of a killed or crashed run (its session) must not outlive it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(
        exit_code=code,
        timed_out=timed_out.is_set(),
        wall_seconds=wall,
        ended_wall=ended_wall,
        cpu_seconds=cpu,
        peak_rss_mb=usage.ru_maxrss / 1024.0,
        stdout=_tail(out_path),
        stderr=_tail(err_path),
    )
