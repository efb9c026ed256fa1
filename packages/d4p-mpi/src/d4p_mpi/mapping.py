"""The ``mpi`` mapping: PE instances on the ranks of an MPI job.

Two ways to start, both giving the same results:

* inside MPI — ``mpiexec -n 4 d4p run mpi wf.py``: every rank loads the
  workflow by module path, the world size decides the placement, rank 0
  returns (and the CLI prints) the results, the other ranks print nothing;
* outside MPI — ``d4p run mpi wf.py -n 4`` or ``d4p_core.run(graph, "mpi",
  processes=4)``: d4p starts ``mpiexec`` itself (the one of the ``mpich`` wheel
  next to this interpreter, or ``--mpiexec``), sends the PEs pickled, and reads
  rank 0's outcome back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from d4p_core import D4pError
from d4p_core.backend import (
    FixedPlacementMapping,
    Fuse,
    PlacedRun,
    RunOutcome,
    check_process_options,
    fuse_option,
    option,
)

from ._job import launch
from ._world import inside_mpi, run_inside, world_size

__all__ = ["MpiMapping", "MpiOptions"]


@dataclass(frozen=True)
class MpiOptions:
    """Options of ``mpi``.

    ``processes``: ranks d4p launches (inside MPI the world size is used);
    ``mpiexec_args``: extra launcher arguments (``-f hostfile``...), on the
    command line one ``--mpiexec-arg`` each.
    """

    processes: int | None = None
    mpiexec: str | None = option(
        None, "the MPI launcher (default: the mpich wheel's, else PATH's)", metavar="PATH"
    )
    mpiexec_args: tuple[str, ...] = option(
        (),
        "extra launcher argument, repeatable (--mpiexec-arg=-f --mpiexec-arg=hosts)",
        flag="--mpiexec-arg",
        metavar="ARG",
        repeatable=True,
    )
    batch_size: int = option(256, "items per message")
    fuse: Fuse = fuse_option()

    def __post_init__(self) -> None:
        check_process_options(self.processes, None, fuse=self.fuse, batch_size=self.batch_size)
        given: object = self.mpiexec_args  # a list from run(...) kwargs, too
        if isinstance(given, str):
            raise D4pError("mpiexec_args is a list of arguments, not one string")
        object.__setattr__(self, "mpiexec_args", tuple(self.mpiexec_args))


class MpiMapping(FixedPlacementMapping[MpiOptions]):
    """PE instances on the ranks of an MPI job, placed as ``multi`` places them."""

    name: ClassVar[str] = "mpi"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "PE instances on the ranks of an MPI job (mpiexec)"
    options_class: ClassVar[type[MpiOptions]] = MpiOptions

    def processes(self, options: MpiOptions) -> int:
        """Inside MPI the world decides (the ranks are never given twice)."""
        return world_size() if inside_mpi() else super().processes(options)

    def execute(self, placed: PlacedRun, options: MpiOptions) -> RunOutcome:
        if inside_mpi():
            return run_inside(placed, options.batch_size) or RunOutcome({}, [], primary=False)
        return launch(
            placed,
            batch_size=options.batch_size,
            mpiexec=options.mpiexec,
            launcher_args=options.mpiexec_args,
        )
