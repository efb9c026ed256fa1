"""The conformance suite on the dynamic mappings (dyn_multi and dyn_auto_multi
refuse the stateful workflows; hybrid_multi runs them on pinned instances)."""

from __future__ import annotations

from d4p_core.testing import PORTABILITY_CASES, MappingConformance


class TestDynMultiConformance(MappingConformance):
    mapping = "dyn_multi"
    processes_span_the_run = True
    processes = 3


class TestDynMultiConformanceSpawn(MappingConformance):
    mapping = "dyn_multi"
    processes_span_the_run = True
    processes = 3
    options = {"start_method": "spawn"}
    quick_cases = PORTABILITY_CASES


class TestDynAutoMultiConformance(MappingConformance):
    mapping = "dyn_auto_multi"
    processes = 4


class TestHybridMultiConformance(MappingConformance):
    mapping = "hybrid_multi"
    processes_span_the_run = True
    processes = 4


class TestHybridMultiConformanceSpawn(MappingConformance):
    mapping = "hybrid_multi"
    processes_span_the_run = True
    processes = 3
    options = {"start_method": "spawn"}
    quick_cases = PORTABILITY_CASES
