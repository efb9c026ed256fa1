"""Running inside an MPI world, started by d4p or by the user's mpiexec."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

from d4p_core import GraphError

from ._rank import RankOutcome, RankSpec, run_rank

__all__ = ["abort_job", "finish_on_rank0", "inside_mpi", "world_size"]


def inside_mpi() -> bool:
    """True when this process was started by mpiexec as part of a job with
    more than one rank (read from the launcher's environment, so that MPI is
    not initialised outside MPI)."""
    for variable in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE"):
        value = os.environ.get(variable)
        if value is not None and value.isdigit() and int(value) > 1:
            return True
    return False


def world_size() -> int:
    from mpi4py import MPI

    size: int = MPI.COMM_WORLD.Get_size()
    return size


def finish_on_rank0(comm: Any, spec: RankSpec, pes: dict[str, Any]) -> RankOutcome | None:
    """Run this rank's share; rank 0 gets the outcome (others ``None``)."""
    if comm.Get_size() < len(spec.blocks):
        raise GraphError(
            f"the placement needs {len(spec.blocks)} ranks but the MPI world has {comm.Get_size()}"
        )
    return run_rank(comm, spec, pes)


def abort_job(comm: Any, code: int) -> NoReturn:
    """End every rank after a failure was reported: MPI_Abort, and if the MPI
    library returns from it (some do, for singleton or Hydra jobs), end this
    process anyway; the launcher then stops the others."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        comm.Abort(code)
    finally:
        os._exit(code)
