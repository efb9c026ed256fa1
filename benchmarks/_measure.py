"""Run one command in a subprocess and measure its whole process tree."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measured", "measure"]


@dataclass(frozen=True)
class Measured:
    """Wall time, CPU seconds and peak RSS of one subprocess run."""

    exit_code: int
    timed_out: bool
    stalled: bool
    """Killed early: ``progress`` did not move for ``stall_seconds``."""
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
    command: list[str],
    env: dict[str, str],
    timeout: float,
    workdir: Path,
    cwd: Path,
    progress: Callable[[], int] | None = None,
    stall_seconds: float = 0.0,
    stall_from_start: bool = True,
) -> Measured:
    """Run ``command``; kill its whole process group after ``timeout`` seconds,
    or as soon as ``progress()`` (e.g. bytes of results written so far) has
    not changed for ``stall_seconds`` (a hang, told early). Without
    ``stall_from_start`` the stall clock starts at the first progress: before
    it only ``timeout`` applies.

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
        exited, timed_out, stalled = threading.Event(), threading.Event(), threading.Event()

        def watch() -> None:
            deadline = started + timeout
            seen, moved = -1, started
            while not exited.wait(0.5 if progress else max(0.0, deadline - time.perf_counter())):
                now = time.perf_counter()
                if progress is not None:
                    current = progress()
                    if current != seen:
                        seen, moved = current, now
                    elif (
                        stall_seconds
                        and (stall_from_start or seen > 0)
                        and now - moved >= stall_seconds
                    ):
                        stalled.set()
                if now >= deadline:
                    timed_out.set()
                if timed_out.is_set() or stalled.is_set():
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            exited.set()
            watcher.join()
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
        stalled=stalled.is_set(),
        wall_seconds=wall,
        ended_wall=ended_wall,
        cpu_seconds=cpu,
        peak_rss_mb=usage.ru_maxrss / 1024.0,
        stdout=_tail(out_path),
        stderr=_tail(err_path),
    )
