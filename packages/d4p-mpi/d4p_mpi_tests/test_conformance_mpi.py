"""The conformance suite on real mpiexec (the mpich wheel), d4p launching it,
with 2, 4 and 8 ranks (oversubscribed on a small machine)."""

from __future__ import annotations

from d4p_core.testing import MappingConformance


class TestMpiTwoRanks(MappingConformance):
    mapping = "mpi"
    processes = 2

    def processes_for(self, graph: object) -> int | None:
        return self.processes  # fewer ranks than instances: chains are fused


class TestMpiFourRanks(MappingConformance):
    mapping = "mpi"
    processes = 4


class TestMpiEightRanks(MappingConformance):
    mapping = "mpi"
    processes = 8
