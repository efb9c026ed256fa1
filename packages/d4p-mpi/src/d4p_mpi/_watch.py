"""Why every rank d4p launches runs under a watcher, and what it leaves.

The ranks of a job d4p launches are children of MPI's launcher (Hydra's
proxy), not of d4p: when one is killed by a signal (the OOM killer's
SIGKILL), all d4p learns is mpiexec's exit status. So the program mpiexec
starts forks first, before MPI is initialised: the child becomes the rank
(it inherits the environment and the descriptors the launcher's PMI set
up), the parent never touches MPI and only waits for it. When the rank is
killed by a signal, the parent writes which rank and how into the job's
directory, then exits with 128 + the signal, so the launcher ends the job as
before; the driver then names the rank as every mapping names a lost worker.

The launcher signals a rank's whole process group (the watcher and the rank
share it). Its teardown after a failure, or when it loses mpiexec, is a
SIGKILL, which ends both at once and records nothing. A terminated mpiexec
(the kernel's signal when the driver died) passes SIGTERM on, which the
watcher ignores: it outlives its rank, to remove the job's directory that
the dead driver cannot (:mod:`._jobdir`).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from pathlib import Path

from d4p_core.backend import watch_child

from ._jobdir import driver_gone, remove

__all__ = ["first_lost", "watched"]

# Where MPICH (Hydra), Open MPI and PMIx launchers put the rank.
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")


def watched(rank_main: Callable[[], int], job: Path) -> int:
    """Run ``rank_main`` in a child process watched by this one (core's
    :func:`~d4p_core.backend.watch_child`) and return the status to exit
    with. A child killed by a signal is recorded in the job directory
    ``job``; when the driver is gone, the directory is removed instead."""

    def on_exit(code: int) -> None:
        if driver_gone(job):  # nobody reads it any more, nor removes it
            remove(job)
        elif code < 0:  # -signal
            _record(job, code)

    return watch_child(rank_main, on_exit, in_watcher=_outlive_the_rank)


def _outlive_the_rank() -> None:
    """The launcher's SIGTERM is for the rank (see above)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _record(records: Path, code: int) -> None:
    """Write ``rank-N.lost`` holding ``code``, atomically."""
    rank = next((os.environ[v] for v in _RANK_VARIABLES if v in os.environ), None)
    if rank is None or not rank.isdigit():
        return
    path = records / f"rank-{rank}.lost"
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(OSError):  # the driver is gone, its directory too
        tmp.write_text(str(code))
        tmp.replace(path)


def first_lost(records: Path) -> tuple[int, int] | None:
    """The rank a watcher saw killed and its exit code (``-signal``): the
    first one recorded, or ``None``."""
    found: list[tuple[int, int, int]] = []
    for path in records.glob("rank-*.lost"):
        with contextlib.suppress(OSError, ValueError):
            rank = int(path.stem.removeprefix("rank-"))
            found.append((path.stat().st_mtime_ns, rank, int(path.read_text())))
    if not found:
        return None
    _, rank, code = min(found)
    return rank, code
