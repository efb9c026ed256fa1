"""Every installed mapping, loaded through the registry and run through the
public API on a smoke set of workflows. (Each package's conformance suite runs
every workflow on its own mappings; this checks the installed set as a user
gets it.)"""

from __future__ import annotations

import pytest

import d4p_core
from d4p_core.backend import PlacedRun
from d4p_core.testing import ConformanceCase, assert_same_multisets, case_by_name

MAPPINGS = sorted(d4p_core.available_mappings())
# A Storm topology takes seconds to submit: its cells run in the full tier
# (the fast tier's Storm smoke test is d4p-storm's conformance word count).
SLOW_MAPPINGS = {"storm"}
SMOKE = [case_by_name(name) for name in ("pipeline", "word_count", "broadcast", "global_sum")]


def test_simple_is_always_installed() -> None:
    assert "simple" in MAPPINGS


@pytest.mark.parametrize("mapping", MAPPINGS)
def test_mapping_loads_as_a_mapping(mapping: str) -> None:
    loaded = d4p_core.load_mapping(mapping)
    assert isinstance(loaded, d4p_core.Mapping)
    assert loaded.name == mapping
    assert isinstance(loaded.supports_stateful, bool)


@pytest.mark.parametrize(
    "mapping",
    [pytest.param(m, marks=pytest.mark.slow) if m in SLOW_MAPPINGS else m for m in MAPPINGS],
)
@pytest.mark.parametrize("case", SMOKE, ids=lambda c: c.name)
def test_workflow_on_mapping(mapping: str, case: ConformanceCase) -> None:
    selected = d4p_core.load_mapping(mapping)
    graph = case.build()
    options = selected.options_from_kwargs(4)
    try:
        planned = selected.plan(graph, options)
    except d4p_core.UnsupportedGraphError:
        assert not selected.supports_stateful
        with pytest.raises(d4p_core.UnsupportedGraphError):
            d4p_core.run(graph, mapping, inputs=case.inputs, processes=4)
        return
    plan = planned.plan if isinstance(planned, PlacedRun) else planned
    result = d4p_core.run(graph, mapping, inputs=case.inputs, processes=4)
    reference = d4p_core.run(case.build(), "simple", inputs=case.inputs)
    factors = {pe: plan.instances[pe] for pe in case.broadcast}
    assert_same_multisets(result.outputs, reference.outputs, factors)
    assert set(result.metrics) == set(plan.pe_ids)
