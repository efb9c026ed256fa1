"""d4p-mpi: the ``mpi`` mapping, PE instances on the ranks of an MPI job."""

from __future__ import annotations

from .__about__ import __version__
from ._job import find_mpiexec
from .mapping import MpiMapping, MpiOptions

__all__ = ["MpiMapping", "MpiOptions", "__version__", "find_mpiexec"]
