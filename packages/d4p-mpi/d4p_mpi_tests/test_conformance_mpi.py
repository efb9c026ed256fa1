"""The conformance suite on real mpiexec (the mpich wheel), d4p launching it,
with 2, 4 and 8 ranks (oversubscribed on a small machine; with 2 ranks,
fewer than instances, chains are fused)."""

from __future__ import annotations

from d4p_core.testing import PORTABILITY_CASES, MappingConformance


class TestMpiTwoRanks(MappingConformance):
    mapping = "mpi"
    processes = 2


class TestMpiFourRanks(MappingConformance):
    """The fast tier runs the portability subset (two ranks run every
    workflow there), the full tier every workflow."""

    mapping = "mpi"
    processes = 4
    quick_cases = PORTABILITY_CASES


class TestMpiEightRanks(MappingConformance):
    """Oversubscribed (8 ranks on a small machine): the fast tier runs the
    portability subset, the full tier every workflow."""

    mapping = "mpi"
    processes = 8
    quick_cases = PORTABILITY_CASES
