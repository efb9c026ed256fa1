"""Process helpers for tests of mappings: which children a process has, and
waiting for processes to be gone (Linux reads ``/proc``; elsewhere
multiprocessing's own children). A zombie does not count as alive: an
orphan's exit is reaped by init, which in a container may take its time, and
its ``/proc`` entry lingers until then."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Sequence

__all__ = ["alive", "child_processes", "children_of", "subprocess_env", "wait_gone"]


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


def children_of(pid: int) -> list[int]:
    """Pids of the running (non-zombie) children of ``pid`` (Linux)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(entry)
            if fields is not None and int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


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
