"""Topology generation for every conformance workflow (no Java needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from d4p_core import Broadcast, Global, GroupBy, Shuffle
from d4p_core.backend import Plan
from d4p_core.testing import CASES, ConformanceCase
from d4p_storm import build_topology, storm_plan, to_flux, to_thrift, write_flux
from d4p_storm._streams import data_stream, eos_stream, parse_stream, task_key
from d4p_storm._thrift import from_bytes, storm, to_bytes
from d4p_storm.flux import FLUX_BOLT, FLUX_SPOUT
from d4p_storm.runner import task_context

COMMAND = ("/usr/bin/python3", "/opt/d4p/_entry.py")
# Shuffle and GroupBy: the sender's executor chooses the instance, the key
# field names its task (d4p_storm._streams.task_key).
EXPECTED_GROUPING = {Shuffle: "fields", GroupBy: "fields", Broadcast: "all", Global: "global"}


def _plan(case: ConformanceCase, processes: int = 4) -> Plan:
    return storm_plan(case.build(), processes)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_components_groupings_and_parallelism(case: ConformanceCase) -> None:
    plan = _plan(case)
    spec = build_topology(plan, "t")
    assert [c.id for c in spec.components] == list(plan.pe_ids)
    for component in spec.components:
        assert component.kind == ("spout" if component.id in plan.sources else "bolt")
        assert component.parallelism == plan.instances[component.id]
        assert component.conf == {"d4p.pe": component.id}
        if component.kind == "spout":
            assert component.inputs == ()
    for (src, _output), routes in plan.routes.items():
        declared = {s.id: s.fields for s in spec.component(src).streams}
        for route in routes:
            stream = data_stream(route.dst_pe, route.dst_input)
            keyed = isinstance(route.grouping, (Shuffle, GroupBy))
            assert declared[stream] == (("key", "batch") if keyed else ("batch",))
            subs = [
                s
                for s in spec.component(route.dst_pe).inputs
                if (s.source, s.stream) == (src, stream)
            ]
            assert len(subs) == 1
            assert subs[0].grouping == EXPECTED_GROUPING[type(route.grouping)]
            assert subs[0].fields == (("key",) if keyed else ())
            if isinstance(route.grouping, Global):
                assert spec.component(route.dst_pe).parallelism == 1


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_eos_wiring_gives_every_task_its_markers(case: ConformanceCase) -> None:
    plan = _plan(case)
    spec = build_topology(plan, "t")
    for component in spec.components:
        eos_inputs = {s.source for s in component.inputs if s.stream == eos_stream(component.id)}
        assert eos_inputs == set(plan.upstream[component.id])
        assert all(s.grouping == "all" for s in component.inputs if s.stream.startswith("eos:"))
        for dst in plan.downstream[component.id]:
            assert eos_stream(dst) in {s.id for s in component.streams}
    # The count each runner derives from Storm's context equals the plan's.
    context = _context(spec)
    for component in spec.components:
        for task_id, name in context["task->component"].items():
            if name != component.id:
                continue
            seen = task_context(
                {
                    **context,
                    "taskid": int(task_id),
                    "componentid": name,
                    "source->stream->grouping": _sources(spec, name),
                }
            )
            assert seen.expected_eos == plan.eos_expected[name]
            assert 0 <= seen.index < component.parallelism


def _context(spec: Any) -> dict[str, Any]:
    task_component: dict[str, str] = {"1": "__acker", "2": "__system"}
    next_id = 3
    for component in spec.components:
        for _ in range(component.parallelism):
            task_component[str(next_id)] = component.id
            next_id += 1
    return {"task->component": task_component}


def _sources(spec: Any, name: str) -> dict[str, dict[str, Any]]:
    sources: dict[str, dict[str, Any]] = {}
    for sub in spec.component(name).inputs:
        sources.setdefault(sub.source, {})[sub.stream] = {"type": sub.grouping.upper()}
    return sources


def test_global_input_forces_one_task() -> None:
    from d4p_core import WorkflowGraph
    from d4p_core.testing.pes import CountingProducer, TwoInOneOut

    # One 'global' input among others: the core plan keeps 3 instances (the
    # other input spreads), but Storm's global grouping feeds one task only.
    graph = WorkflowGraph()
    sink = TwoInOneOut()
    sink._add_input("input0", grouping="global")
    sink.numprocesses = 3
    graph.connect(CountingProducer(), "output", sink, "input0")
    graph.connect(CountingProducer(), "output", sink, "input1")
    assert Plan.build(graph, 6).instances[sink.id] == 3
    plan = storm_plan(graph, 6)
    assert plan.instances[sink.id] == 1
    spec = build_topology(plan, "t")
    assert spec.component(sink.id).parallelism == 1
    groupings = sorted(s.grouping for s in spec.component(sink.id).inputs)
    assert groupings == ["all", "all", "fields", "global"]  # an end-of-stream "all" per sender


def test_an_all_global_pe_is_one_task() -> None:
    from d4p_core import WorkflowGraph
    from d4p_core.testing.pes import CountingProducer, PassThrough

    graph = WorkflowGraph()
    sink = PassThrough()
    sink._add_input("input", grouping="global")
    graph.connect(CountingProducer(), "output", sink, "input")
    assert Plan.build(graph, 6).instances[sink.id] == 1  # core's rule, every mapping
    spec = build_topology(storm_plan(graph, 6), "t")
    assert spec.component(sink.id).parallelism == 1
    assert [s.grouping for s in spec.component(sink.id).inputs] == ["global", "all"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_thrift_topology_round_trips(case: ConformanceCase) -> None:
    plan = _plan(case)
    spec = build_topology(plan, "t")
    topology = to_thrift(spec, COMMAND)
    again = from_bytes(storm.StormTopology(), to_bytes(topology))
    assert again == topology
    assert set(again.spouts) == set(plan.sources)
    assert set(again.bolts) == set(plan.pe_ids) - set(plan.sources)
    for name, bolt in again.bolts.items():
        assert bolt.bolt_object.shell.execution_command == COMMAND[0]
        assert bolt.bolt_object.shell.script == COMMAND[1]
        assert bolt.common.parallelism_hint == plan.instances[name]
        for stream_id, grouping in bolt.common.inputs.items():
            sub = next(
                s
                for s in spec.component(name).inputs
                if (s.source, s.stream) == (stream_id.componentId, stream_id.streamId)
            )
            if sub.grouping == "global":
                assert grouping.fields == []
            elif sub.grouping == "fields":
                assert grouping.fields == ["key"]
            else:
                assert sub.grouping == "all"
                assert grouping.all is not None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_flux_yaml_structure(case: ConformanceCase, tmp_path: Path) -> None:
    plan = _plan(case)
    spec = build_topology(plan, "flux-test", {"topology.workers": 1})
    path = write_flux(spec, COMMAND, tmp_path / "topology.yaml")
    loaded = yaml.safe_load(path.read_text())
    assert loaded == to_flux(spec, COMMAND)
    assert loaded["name"] == "flux-test"
    assert loaded["config"] == {"topology.workers": 1}
    assert {s["id"] for s in loaded["spouts"]} == set(plan.sources)
    assert {b["id"] for b in loaded["bolts"]} == set(plan.pe_ids) - set(plan.sources)
    for entry in loaded["spouts"] + loaded["bolts"]:
        assert entry["className"] == (FLUX_SPOUT if entry["id"] in plan.sources else FLUX_BOLT)
        assert entry["constructorArgs"][0] == list(COMMAND)
        assert entry["parallelism"] == plan.instances[entry["id"]]
        named = {m["args"][0] for m in entry["configMethods"] if m["name"] == "setNamedStream"}
        assert named == {s.id for s in spec.component(entry["id"]).streams}
        assert {"name": "addComponentConfig", "args": ["d4p.pe", entry["id"]]} in entry[
            "configMethods"
        ]
    expected = {
        (s.source, c.id, s.stream, s.grouping.upper()) for c in spec.components for s in c.inputs
    }
    seen = {
        (e["from"], e["to"], e["grouping"]["streamId"], e["grouping"]["type"])
        for e in loaded["streams"]
    }
    assert seen == expected
    for entry in loaded["streams"]:
        if entry["grouping"]["type"] == "FIELDS":
            assert entry["grouping"]["args"] == ["key"]


def test_stream_names_parse_back() -> None:
    assert parse_stream(data_stream("Counter3", "input")) == ("Counter3", "input")
    assert parse_stream(eos_stream("Counter3")) == ("Counter3", None)
    assert parse_stream("__heartbeat") is None


def _java_fields_grouper(key: int, tasks: int) -> int:
    """Storm's choice for a one-field key, as Java computes it:
    ``Math.floorMod(Arrays.deepHashCode(new Object[]{Long.valueOf(key)}), tasks)``
    in 32-bit int arithmetic."""
    long_hash = (key ^ (key >> 32)) & 0xFFFFFFFF  # Long.hashCode
    list_hash = (31 * 1 + long_hash) & 0xFFFFFFFF  # Arrays.deepHashCode, int overflow
    signed = list_hash - (1 << 32) if list_hash >= 1 << 31 else list_hash
    return signed % tasks  # Math.floorMod


def test_task_keys_name_their_task() -> None:
    for tasks in range(1, 70):
        for index in range(tasks):
            key = task_key(index, tasks)
            assert 0 <= key < tasks
            assert _java_fields_grouper(key, tasks) == index
