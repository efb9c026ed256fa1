"""The conformance suite on the reference mapping itself."""

from __future__ import annotations

from d4p_core.testing import MappingConformance


class TestSimpleConformance(MappingConformance):
    mapping = "simple"
    processes_span_the_run = True
