"""Every d4p-mpi test leaves the machine's temporary space as it found it.

Each test gets a temporary directory of its own (``TMPDIR`` for this
process, the drivers it starts, mpiexec and the ranks: core's
``clean_tmp``), empty again at the end. MPI writes elsewhere too, whatever
``TMPDIR`` says: Hydra its topology file in ``/tmp``, MPICH its shared
memory in ``/dev/shm``; a new one of those that no running process holds
(another session's job still running does) fails the test as well."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MPI_LEFTOVERS = {Path("/tmp"): "hydra_hwloc_xmlfile_*", Path("/dev/shm"): "mpich_*"}


@pytest.fixture(autouse=True)
def nothing_left_in_tmp(clean_tmp: Path) -> Iterator[None]:
    """The private directory is empty again after the test, and MPI left
    nothing in ``/tmp`` or ``/dev/shm``."""
    before = _mpi_files()
    yield
    left = _left_behind(before)
    assert not left, f"MPI's files were left behind: {left}"


def _left_behind(before: set[str], grace: float = 5.0) -> list[str]:
    """The new MPI files that nobody holds and that stay: a job ending
    normally (this test's or another session's) unlinks its files just
    after its ranks let go of them, a job that did not leaves them."""
    deadline = time.monotonic() + grace
    while True:
        new = _mpi_files() - before
        left = sorted(new - _held(new))
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def _mpi_files() -> set[str]:
    return {str(path) for root, pattern in MPI_LEFTOVERS.items() for path in root.glob(pattern)}


def _held(paths: set[str]) -> set[str]:
    """Those of ``paths`` that a running process has open (Hydra's proxy
    keeps its topology file open) or mapped (MPICH's ranks their shared
    memory): a live job's, not left behind (Linux)."""
    held: set[str] = set()
    if not paths:
        return held
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    held.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        with contextlib.suppress(OSError), open(f"/proc/{pid}/maps", encoding="utf-8") as maps:
            held.update(line.split(None, 5)[-1] for line in maps.read().splitlines())
    return held & paths
