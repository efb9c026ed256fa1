"""Inputs: what the roots of a run are fed (DESIGN.md §3.3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from d4p_core import (
    CompositePE,
    FlatGraph,
    InputError,
    Plan,
    WorkflowGraph,
    load_inputs_file,
    parse_inputs_json,
    resolve_inputs,
)
from d4p_core.inputs import iter_blocks
from d4p_core_tests._pes import AddOne, Identity, Merge, NumberProducer, OneProducer, run_simple


def _two_sources() -> tuple[FlatGraph, tuple[str, ...], OneProducer, NumberProducer, Merge]:
    graph = WorkflowGraph()
    first, second, merge = OneProducer(), NumberProducer(2), Merge()
    graph.connect(first, "output", merge, "a")
    graph.connect(second, "output", merge, "b")
    flat = graph.flat()
    return flat, Plan.build(flat).sources, first, second, merge


def test_none_runs_every_source_once() -> None:
    flat, sources, first, second, _ = _two_sources()
    assert resolve_inputs(flat, None, sources) == {first.id: 1, second.id: 1}


def test_int_runs_every_source_that_many_times() -> None:
    flat, sources, first, second, _ = _two_sources()
    assert resolve_inputs(flat, 3, sources) == {first.id: 3, second.id: 3}
    assert resolve_inputs(flat, 0, sources) == {first.id: 0, second.id: 0}


@pytest.mark.parametrize("bad", [-1, True, "3", 2.5, [1, 2]])
def test_invalid_inputs_are_input_errors(bad: Any) -> None:
    flat, sources, *_ = _two_sources()
    with pytest.raises(InputError):
        resolve_inputs(flat, bad, sources)


def test_mapping_keyed_by_pe_object_name_and_id() -> None:
    flat, sources, first, second, merge = _two_sources()
    blocks = [{"input": 1}, {"input": 2}]
    assert resolve_inputs(flat, {first: 2}, sources) == {first.id: 2, second.id: 1}
    assert resolve_inputs(flat, {"OneProducer": blocks}, sources) == {
        first.id: blocks,
        second.id: 1,
    }
    assert resolve_inputs(flat, {second.id: 4, merge.id: [{"a": 1}]}, sources) == {
        second.id: 4,
        merge.id: [{"a": 1}],
        first.id: 1,
    }


def test_tuple_of_blocks_becomes_a_list() -> None:
    flat, sources, first, *_ = _two_sources()
    resolved = resolve_inputs(flat, {first: ({"x": 1},)}, sources)
    assert resolved[first.id] == [{"x": 1}]


@pytest.mark.parametrize("bad", [-2, True, "many", {"a": 1}, None])
def test_invalid_value_for_a_pe(bad: Any) -> None:
    flat, sources, first, *_ = _two_sources()
    with pytest.raises(InputError, match=first.id):
        resolve_inputs(flat, {first: bad}, sources)


def test_unknown_key_lists_valid_names() -> None:
    flat, sources, first, second, merge = _two_sources()
    with pytest.raises(InputError) as info:
        resolve_inputs(flat, {"Nope": 1}, sources)
    message = str(info.value)
    assert "'Nope'" in message
    for valid in ("OneProducer", "NumberProducer", "Merge", first.id, second.id, merge.id):
        assert valid in message


def test_pe_object_not_in_graph_is_an_input_error() -> None:
    flat, sources, *_ = _two_sources()
    with pytest.raises(InputError, match="not in the graph"):
        resolve_inputs(flat, {AddOne(): 1}, sources)


def test_non_string_key_is_an_input_error() -> None:
    flat, sources, *_ = _two_sources()
    with pytest.raises(InputError, match="PE names or PE ids"):
        resolve_inputs(flat, {3: 1}, sources)


def test_ambiguous_name_must_be_keyed_by_id() -> None:
    graph = WorkflowGraph()
    first, second = OneProducer(), OneProducer()
    graph.add(first)
    graph.add(second)
    flat = graph.flat()
    sources = Plan.build(flat).sources
    with pytest.raises(InputError) as info:
        resolve_inputs(flat, {"OneProducer": 1}, sources)
    assert first.id in str(info.value) and second.id in str(info.value)
    assert "by id" in str(info.value)
    assert resolve_inputs(flat, {second.id: 5}, sources) == {second.id: 5, first.id: 1}


def test_same_pe_named_twice_is_an_error() -> None:
    flat, sources, first, *_ = _two_sources()
    with pytest.raises(InputError, match="twice"):
        resolve_inputs(flat, {first: 1, first.id: 2}, sources)


def test_id_wins_over_a_name() -> None:
    graph = WorkflowGraph()
    tricky, plain = OneProducer(), OneProducer()
    graph.add(tricky)
    graph.add(plain)
    plain.name = tricky.id  # a name equal to another PE's id
    flat = graph.flat()
    resolved = resolve_inputs(flat, {tricky.id: 3}, Plan.build(flat).sources)
    assert resolved[tricky.id] == 3


def test_pe_inside_a_composite_can_be_keyed() -> None:
    def create(composite: CompositePE) -> None:
        inner = AddOne()
        inner.name = "inner"
        composite._map_input("input", inner, "input")
        composite._map_output("output", inner, "output")

    graph = WorkflowGraph()
    graph.connect(OneProducer(), "output", CompositePE(create), "input")
    result = run_simple(graph, inputs={"inner": [{"input": 100}], "OneProducer": 2})
    assert sorted(result.outputs["inner0"]["output"]) == [1, 2, 101]


def test_sources_not_mentioned_run_once() -> None:
    graph = WorkflowGraph()
    first, second = OneProducer(), OneProducer()
    first.name, second.name = "first", "second"
    graph.connect(first, "output", Identity(), "input")
    graph.connect(second, "output", Identity(), "input")
    result = run_simple(graph, inputs={"first": 3})
    assert sorted(len(v["output"]) for v in result.outputs.values()) == [1, 3]


def test_iter_and_count_blocks() -> None:
    assert list(iter_blocks(3)) == [{}, {}, {}]
    assert list(iter_blocks([{"a": 1}])) == [{"a": 1}]


# -- JSON ----------------------------------------------------------------------------
def test_parse_inputs_json() -> None:
    assert parse_inputs_json('{"A": 3, "B": [{"input": 1}]}') == {"A": 3, "B": [{"input": 1}]}


def test_invalid_json_is_an_input_error() -> None:
    with pytest.raises(InputError, match="invalid input JSON") as info:
        parse_inputs_json('{"A": 3,')
    assert "line 1" in str(info.value)


@pytest.mark.parametrize("text", ["[1, 2]", "3", '"A"', "null"])
def test_non_object_json_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="must be an object"):
        parse_inputs_json(text)


def test_load_inputs_file(tmp_path: Path) -> None:
    path = tmp_path / "inputs.json"
    path.write_text('{"OneProducer": 2}', encoding="utf-8")
    assert load_inputs_file(path) == {"OneProducer": 2}
    assert load_inputs_file(str(path)) == {"OneProducer": 2}


def test_missing_inputs_file_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(InputError, match="cannot read input file") as info:
        load_inputs_file(missing)
    assert str(missing) in str(info.value)


def test_bad_json_in_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{nope", encoding="utf-8")
    with pytest.raises(InputError, match="invalid input JSON") as info:
        load_inputs_file(path)
    assert str(path) in str(info.value)
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(InputError, match="must be an object"):
        load_inputs_file(path)


def test_json_inputs_drive_a_run() -> None:
    graph = WorkflowGraph()
    graph.connect(OneProducer(), "output", AddOne(), "input")
    inputs = parse_inputs_json('{"OneProducer": 3}')
    assert run_simple(graph, inputs=inputs).outputs == {"AddOne1": {"output": [1, 2, 3]}}
