"""Running inside an MPI world, started by d4p or by the user's mpiexec."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

from d4p_core import RunError
from d4p_core.backend import PlacedRun, RunOutcome

from ._rank import RankSpec, run_rank
from ._shm import release_own_segments

__all__ = ["abort_job", "inside_mpi", "run_inside", "world_size"]


def inside_mpi() -> bool:
    """True when this process was started by mpiexec as part of a job with
    more than one rank (read from the launcher's environment, so that MPI is
    not initialised outside MPI)."""
    for variable in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE"):
        value = os.environ.get(variable)
        if value is not None and value.isdigit() and int(value) > 1:
            return True
    return False


def _world() -> Any:
    from mpi4py import MPI  # importing it starts MPI

    return MPI.COMM_WORLD


def world_size() -> int:
    size: int = _world().Get_size()
    return size


def run_inside(placed: PlacedRun, batch_size: int) -> RunOutcome | None:
    """This rank's share of a run inside the user's MPI job; rank 0 gets the
    outcome, the other ranks ``None``. A failure on any rank is written once,
    by rank 0, and ends the job: the other ranks are waiting for it to do so."""
    comm = _world()
    try:
        return run_rank(comm, RankSpec.of(placed, batch_size), placed.flat.by_id)
    except RunError as error:
        sys.stderr.write(f"d4p: error: {error}\n{error.remote_traceback or ''}")
        abort_job(comm, error.exit_code)


def abort_job(comm: Any, code: int) -> NoReturn:
    """End every rank after a failure was reported: MPI_Abort, and if the MPI
    library returns from it (some do, for singleton or Hydra jobs), end this
    process anyway; the launcher then stops the others. MPICH's shared
    memory on this host is unlinked first: after MPI_Abort, nobody would."""
    release_own_segments()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        comm.Abort(code)
    finally:
        os._exit(code)
