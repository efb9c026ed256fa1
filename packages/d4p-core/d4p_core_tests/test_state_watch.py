"""The undeclared-state watch: what it notices, when, and what it costs."""

from __future__ import annotations

import gc
import sys
from typing import Any

import pytest

from d4p_core import IterativePE, UndeclaredStateWarning, WorkflowGraph, run
from d4p_core.runtime._state_watch import StateWatch
from d4p_core.testing.pes import CountingProducer, PartialSum, Remembers, RemembersAsACache


class Counter(IterativePE):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _process(self, data: Any) -> Any:
        self.count += 1
        return data


class Pure(IterativePE):
    def __init__(self) -> None:
        super().__init__()
        self.factor = 3
        self.table = {1: "one"}

    def _process(self, data: Any) -> Any:
        return data * self.factor


def _watched(pe: IterativePE) -> StateWatch:
    pe.preprocess()
    return StateWatch(pe)


@pytest.mark.parametrize(
    ("pe", "value", "names"),
    [(Counter(), 1, ("count",)), (Remembers(), 7, ("seen",))],
    ids=["rebinding", "a growing container"],
)
def test_a_change_made_by_process_is_noticed_and_named(
    pe: IterativePE, value: Any, names: tuple[str, ...]
) -> None:
    watch = _watched(pe)
    pe._process(value)
    assert watch.changed(pe)  # the first chunk is checked
    assert watch.changed_names(pe) == names


def test_a_pe_that_only_reads_its_attributes_is_not_noticed() -> None:
    pe = Pure()
    watch = _watched(pe)
    for value in range(20):
        pe._process(value)
        assert not watch.changed(pe)


def test_checks_thin_out_after_1_2_4_8_chunks() -> None:
    pe = Counter()
    watch = _watched(pe)
    checked = [chunk for chunk in range(1, 20) if pe._process(chunk) and watch.changed(pe)]
    assert checked == [1, 2, 4, 8, 16]


def test_the_watch_never_materialises_the_pe_dict() -> None:
    """On CPython 3.11/3.12 a materialised __dict__ makes every attribute
    read of the PE ~2x slower for the rest of its life."""
    if not (3, 11) <= sys.version_info[:2] < (3, 13):
        pytest.skip("compact attribute storage is lost to __dict__ only on 3.11 and 3.12")
    pe = Counter()
    compact = len(gc.get_referents(pe))
    assert compact > 2  # the attribute values themselves, not one dict
    watch = StateWatch(pe)
    pe._process(1)
    assert watch.changed(pe)
    assert len(gc.get_referents(pe)) == compact


def test_opted_out_and_partial_aggregate_pes_are_not_watched() -> None:
    assert StateWatch.wanted(Remembers())
    assert not StateWatch.wanted(RemembersAsACache())
    assert not StateWatch.wanted(PartialSum())  # writes its part in postprocess


def test_one_instance_on_a_fixed_mapping_says_nothing(recwarn: pytest.WarningsRecorder) -> None:
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", Remembers(), "input")
    result = run(graph, "multi", inputs=10, processes=2)
    assert result.warnings == []
    assert not recwarn.list
    assert result.metrics["Remembers1"].split_state == ()


def test_split_state_is_named_in_the_metrics_of_round_robin_instances() -> None:
    graph = WorkflowGraph()
    graph.connect(CountingProducer(), "output", Remembers(numprocesses=3), "input")
    noticed = r"PE 'Remembers1': process\(\) changes its attributes \(seen\)"
    with pytest.warns(UndeclaredStateWarning, match=noticed):
        result = run(graph, "multi", inputs=30, processes=4)
    assert result.metrics["Remembers1"].split_state == ("seen",)
    assert sorted(result.outputs["Remembers1"]["output"]) == list(range(1, 31))
