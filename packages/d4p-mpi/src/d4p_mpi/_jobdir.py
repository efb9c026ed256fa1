"""The job directory of a run d4p launches: private to the run, shared by
the driver and the ranks' watchers, and removed however the run ends.

It holds the pickled run (``job.spec``), rank 0's outcome, the watchers'
records of killed ranks, the ranks' records of MPICH's shared memory
(:mod:`._shm`), and the path hwloc is pointed at (:mod:`._environment`).
The driver removes it when the run ends: after a result, a failure or a
Ctrl-C. A driver that is killed (SIGKILL, or SIGTERM, which Python does not
turn into an exception) cannot, so the ranks' watchers do: while the driver
runs it holds an ``flock`` on ``job.spec``, which the kernel releases when
the driver dies (before its ``mpiexec`` gets the signal that stops the job);
a watcher that finds the lock free when its rank ends (or before it starts)
knows nobody will read the directory again and removes it.
"""

from __future__ import annotations

import fcntl
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._shm import release_segments

__all__ = ["SPEC_NAME", "driver_gone", "holding_spec", "job_directory", "remove"]

SPEC_NAME = "job.spec"


@contextmanager
def job_directory() -> Iterator[Path]:
    """A new job directory in the user's temporary directory, removed when
    the block ends, however it ends (a rank's watcher may still be writing a
    record in it after an interrupt, hence no error for a late entry)."""
    directory = Path(tempfile.mkdtemp(prefix="d4p-mpi-"))
    try:
        yield directory
    finally:
        remove(directory)


@contextmanager
def holding_spec(directory: Path, spec: object) -> Iterator[Path]:
    """Write ``spec`` pickled as the job's ``job.spec`` and hold its lock
    until the block ends: the sign, for the watchers, that the driver lives.
    The descriptor is not inherited (Python's default), so ``mpiexec`` and
    the ranks never hold the lock themselves."""
    path = directory / SPEC_NAME
    with open(path, "wb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        pickle.dump(spec, handle, protocol=pickle.HIGHEST_PROTOCOL)
        handle.flush()
        yield path


def driver_gone(directory: Path) -> bool:
    """True when the job's ``job.spec`` is there and no driver holds its
    lock: the driver ended or was killed, and the directory is nobody's.
    False while the driver holds it, and when there is no spec to judge
    by (removed already, or on another host without a shared file system):
    a directory is never removed on a guess."""
    try:
        with open(directory / SPEC_NAME, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: the driver holds it
        return False
    return True


def remove(directory: Path) -> None:
    """Remove what the job left: the shared memory its ranks on this host
    recorded (:mod:`._shm`), then the job directory, if still there."""
    release_segments(directory)
    shutil.rmtree(directory, ignore_errors=True)
