"""The conformance suite on the reference mapping itself."""

from __future__ import annotations

from d4p_core.testing import MappingConformance


class TestSimpleConformance(MappingConformance):
    mapping = "simple"
