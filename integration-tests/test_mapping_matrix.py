"""Every installed mapping x every conformance workflow, through the public API."""

from __future__ import annotations

import pytest

import d4p_core
from d4p_core.testing import CASES, ConformanceCase, assert_same_multisets

MAPPINGS = sorted(d4p_core.available_mappings())


def test_simple_is_always_installed() -> None:
    assert "simple" in MAPPINGS


@pytest.mark.parametrize("mapping", MAPPINGS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_workflow_on_mapping(mapping: str, case: ConformanceCase) -> None:
    selected = d4p_core.load_mapping(mapping)
    graph = case.build()
    processes = max(4, d4p_core.Plan.minimum_processes(graph))
    plan = d4p_core.Plan.build(graph, processes)
    if plan.stateful and not selected.supports_stateful:
        with pytest.raises(d4p_core.UnsupportedGraphError):
            d4p_core.run(graph, mapping, inputs=case.inputs, processes=processes)
        return
    result = d4p_core.run(graph, mapping, inputs=case.inputs, processes=processes)
    reference = d4p_core.run(case.build(), "simple", inputs=case.inputs)
    if case.compare_multisets:
        factors = {pe: plan.instances[pe] for pe in case.broadcast}
        if mapping == "simple":
            factors = {}
        assert_same_multisets(result.outputs, reference.outputs, factors)
    assert set(result.metrics) == set(plan.pe_ids)
