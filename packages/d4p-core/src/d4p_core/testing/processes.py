"""Process helpers for tests of mappings: which children a process has, and
waiting for processes to be gone (Linux reads ``/proc``; elsewhere
multiprocessing's own children). A zombie does not count as alive: an
orphan's exit is reaped by init, which in a container may take its time, and
its ``/proc`` entry lingers until then."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Interrupted",
    "alive",
    "child_processes",
    "children_of",
    "descendants_of",
    "interrupt_like_a_terminal",
    "session_processes",
    "subprocess_env",
    "wait_gone",
]


def _stat(pid: int | str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie has ended)."""
    if os.path.isdir("/proc"):
        fields = _stat(pid)
        return fields is not None and fields[0] != "Z"
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _running_where(field: int, value: int) -> list[int]:
    """Pids of running (non-zombie) processes whose ``/proc/PID/stat`` field
    (counted after the command name: 1 ppid, 3 session) is ``value``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(entry)
            if fields is not None and int(fields[field]) == value and fields[0] != "Z":
                found.append(int(entry))
    return found


def children_of(pid: int) -> list[int]:
    """Pids of the running (non-zombie) children of ``pid`` (Linux)."""
    return _running_where(1, pid)


def descendants_of(pid: int) -> list[int]:
    """Pids of the running children of ``pid``, their children, and so on
    (Linux); also those that moved to a session of their own (MPI's hydra)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        children = children_of(pending.pop())
        found += children
        pending += children
    return found


def session_processes(session: int) -> list[int]:
    """Pids of the running processes of session ``session`` (Linux): what a
    command started with ``start_new_session=True`` left behind."""
    return _running_where(3, session)


def _multiprocessing_helpers() -> set[int]:
    """Pids of multiprocessing's own long-lived helpers (resource tracker,
    forkserver): they serve the whole session and are not workers."""
    from multiprocessing import forkserver, resource_tracker

    helpers: set[int] = set()
    tracker_pid = getattr(getattr(resource_tracker, "_resource_tracker", None), "_pid", None)
    server_pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    for pid in (tracker_pid, server_pid):
        if isinstance(pid, int):
            helpers.add(pid)
    return helpers


def child_processes() -> list[int]:
    """Pids of running children of this process, other than
    multiprocessing's helpers (Linux; elsewhere multiprocessing's children)."""
    if os.path.isdir("/proc"):
        helpers = _multiprocessing_helpers()
        return [pid for pid in children_of(os.getpid()) if pid not in helpers]
    return [p.pid for p in multiprocessing.active_children() if p.pid is not None]


def wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for every pid to end; the ones still
    running then."""
    pids = list(pids)
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def subprocess_env(*paths: str, **extra: str) -> dict[str, str]:
    """The environment for a fresh interpreter (a driver started by a test)
    that imports what this one does, plus ``paths`` (a test package's root)."""
    env = dict(os.environ)
    search: Sequence[str] = [*paths, *(p for p in sys.path if p)]
    if env.get("PYTHONPATH"):
        search = [*search, env["PYTHONPATH"]]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(search))
    env.update(extra)
    return env


@dataclass(frozen=True)
class Interrupted:
    """How a command ended after a terminal's Ctrl-C."""

    returncode: int
    stdout: str
    stderr: str
    left_running: list[int]


def interrupt_like_a_terminal(
    argv: Sequence[str],
    started: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> Interrupted:
    """Run ``argv`` in a session of its own, wait until the file ``started``
    exists (a PE creates it, so the run is under way), then send SIGINT to the
    whole process group, as a terminal does on Ctrl-C. Returns how the
    command ended and the processes it had started (or of its session)
    still running 10 s later."""
    with subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else dict(env),
        start_new_session=True,
    ) as command:
        deadline = time.monotonic() + timeout
        while not started.exists() and command.poll() is None:
            if time.monotonic() > deadline:
                os.killpg(command.pid, signal.SIGKILL)
                raise AssertionError(f"{started} was never created by {list(argv)}")
            time.sleep(0.05)
        started_by_it = descendants_of(command.pid)  # noted before they could go
        if command.poll() is None:
            os.killpg(command.pid, signal.SIGINT)
        stdout, stderr = command.communicate(timeout=timeout)
    left = {*started_by_it, *session_processes(command.pid)}
    return Interrupted(command.returncode, stdout, stderr, wait_gone(left, 10.0))
