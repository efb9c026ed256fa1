"""The conformance suite on ``multi`` under each start method."""

from __future__ import annotations

from d4p_core.testing import PORTABILITY_CASES, MappingConformance


class TestMultiConformance(MappingConformance):
    mapping = "multi"
    processes_span_the_run = True
    processes = 4


class TestMultiConformanceSpawn(MappingConformance):
    mapping = "multi"
    processes_span_the_run = True
    processes = 4
    options = {"start_method": "spawn"}
    quick_cases = PORTABILITY_CASES


class TestMultiConformanceFewProcesses(MappingConformance):
    """Fewer processes than instances: chains are fused, groupings still hold."""

    mapping = "multi"
    processes_span_the_run = True
    processes = 2
    options = {"start_method": "forkserver"}
