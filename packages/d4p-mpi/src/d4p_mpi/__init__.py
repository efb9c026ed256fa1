"""d4p-mpi: the ``mpi`` mapping, PE instances on the ranks of an MPI job."""

from __future__ import annotations

from .__about__ import __version__
from .mapping import MpiMapping, MpiOptions, find_mpiexec

__all__ = ["MpiMapping", "MpiOptions", "__version__", "find_mpiexec"]
