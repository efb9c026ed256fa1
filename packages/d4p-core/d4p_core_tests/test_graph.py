"""WorkflowGraph: ports, cycles, multi-edges, ids, composites, flattening."""

from __future__ import annotations

import json
import subprocess
from collections import Counter as Multiset
from typing import Any

import pytest

from d4p_core import (
    GROUPING,
    NAME,
    TYPE,
    Broadcast,
    CompositePE,
    GenericPE,
    Global,
    GraphError,
    GroupBy,
    IterativePE,
    Plan,
    Shuffle,
    SimpleFunctionPE,
    WorkflowGraph,
    create_iterative_chain,
    is_composite,
)
from d4p_core_tests._pes import (
    PYTHON,
    AddOne,
    Dispel4pyStylePE,
    Double,
    EvenOdd,
    Identity,
    Merge,
    NumberProducer,
    build_id_graph,
    double_fn,
    inc_fn,
    run_simple,
    subprocess_env,
)


def _pair_composite(composite: CompositePE) -> None:
    first, second = AddOne(), Double()
    composite.connect(first, "output", second, "input")
    composite._map_input("input", first, "input")
    composite._map_output("output", second, "output")


def _edges(graph: WorkflowGraph) -> list[tuple[str, str, str, str]]:
    return [(_id(c.src), c.src_port, _id(c.dst), c.dst_port) for c in graph.flat().connections]


def _id(node: Any) -> str:
    assert isinstance(node, GenericPE)
    return node.id


# -- ports ----------------------------------------------------------------------
def test_connect_to_undeclared_input_names_pe_and_declared_ports() -> None:
    graph = WorkflowGraph()
    merge = Merge()
    with pytest.raises(GraphError) as info:
        graph.connect(NumberProducer(), "output", merge, "c")
    message = str(info.value)
    assert "Merge" in message
    assert "'c'" in message
    assert "'a'" in message and "'b'" in message


def test_connect_from_undeclared_output_names_pe_and_declared_ports() -> None:
    graph = WorkflowGraph()
    with pytest.raises(GraphError) as info:
        graph.connect(EvenOdd(), "output", AddOne(), "input")
    message = str(info.value)
    assert "EvenOdd" in message
    assert "'even'" in message and "'odd'" in message


def test_connect_to_pe_without_inputs_says_none() -> None:
    with pytest.raises(GraphError, match="none"):
        WorkflowGraph().connect(AddOne(), "output", NumberProducer(), "input")


def test_connect_to_unmapped_composite_port() -> None:
    composite = CompositePE(_pair_composite)
    with pytest.raises(GraphError) as info:
        WorkflowGraph().connect(NumberProducer(), "output", composite, "nope")
    assert "nope" in str(info.value) and "'input'" in str(info.value)
    with pytest.raises(GraphError, match="'output'"):
        WorkflowGraph().connect(composite, "nope", AddOne(), "input")


def test_only_pes_and_graphs_can_be_nodes() -> None:
    graph = WorkflowGraph()
    with pytest.raises(GraphError):
        graph.add(42)  # type: ignore[arg-type]
    with pytest.raises(GraphError):
        graph.connect("a", "output", AddOne(), "input")  # type: ignore[arg-type]
    with pytest.raises(GraphError):
        graph.add(graph)


def test_failed_connect_adds_no_connection() -> None:
    graph = WorkflowGraph()
    with pytest.raises(GraphError):
        graph.connect(NumberProducer(), "output", AddOne(), "missing")
    assert graph.connections == ()


# -- cycles ---------------------------------------------------------------------
def test_cycle_is_rejected_and_named() -> None:
    graph = WorkflowGraph()
    a, b, c = AddOne(), AddOne(), AddOne()
    graph.connect(a, "output", b, "input")
    graph.connect(b, "output", c, "input")
    with pytest.raises(GraphError) as info:
        graph.connect(c, "output", a, "input")
    message = str(info.value)
    assert "cycle" in message
    for pe_id in ("AddOne0", "AddOne1", "AddOne2"):
        assert pe_id in message
    assert len(graph.connections) == 2  # the offending connection is not kept
    assert run_simple(graph, inputs={a: [{"input": 1}]}).outputs == {"AddOne2": {"output": [4]}}


def test_self_loop_is_rejected_and_named() -> None:
    graph = WorkflowGraph()
    pe = AddOne()
    with pytest.raises(GraphError) as info:
        graph.connect(pe, "output", pe, "input")
    assert "cycle" in str(info.value)
    assert "AddOne -> AddOne" in str(info.value)
    assert graph.connections == ()


def test_cycle_through_a_composite_is_rejected_when_flattened() -> None:
    graph = WorkflowGraph()
    composite = CompositePE(_pair_composite)
    back = Identity()
    graph.connect(composite, "output", back, "input")
    graph.connect(back, "output", composite, "input")
    with pytest.raises(GraphError, match="cycle"):
        graph.flat()
    with pytest.raises(GraphError, match="cycle"):
        Plan.build(graph)


def test_two_way_connection_is_a_cycle() -> None:
    graph = WorkflowGraph()
    a, b = AddOne(), AddOne()
    graph.connect(a, "output", b, "input")
    with pytest.raises(GraphError, match="cycle"):
        graph.connect(b, "output", a, "input")


# -- multi-edges ----------------------------------------------------------------
def test_multi_edges_each_deliver_a_copy() -> None:
    graph = WorkflowGraph()
    source, stage = NumberProducer(3), AddOne()
    graph.connect(source, "output", stage, "input")
    graph.connect(source, "output", stage, "input")
    assert len(graph.connections) == 2
    result = run_simple(graph)
    # Each edge keeps its order; how the two interleave is the engine's.
    assert sorted(result.outputs["AddOne1"]["output"]) == [1, 1, 2, 2, 3, 3]


def test_multi_edges_to_different_inputs_of_one_pe() -> None:
    graph = WorkflowGraph()
    source, merge = NumberProducer(2), Merge()
    graph.connect(source, "output", merge, "a")
    graph.connect(source, "output", merge, "b")
    graph.connect(source, "output", merge, "b")
    result = run_simple(graph)
    assert Multiset(result.outputs["Merge1"]["output"]) == Multiset({0: 3, 1: 3})


# -- ids ------------------------------------------------------------------------
def test_ids_are_name_plus_index_in_graph() -> None:
    graph = WorkflowGraph()
    source, a, b = NumberProducer(), AddOne(), AddOne()
    graph.connect(source, "output", a, "input")
    graph.connect(a, "output", b, "input")
    assert [source.id, a.id, b.id] == ["NumberProducer0", "AddOne1", "AddOne2"]
    other = WorkflowGraph()  # a second graph does not shift ids (no global counter)
    c = AddOne()
    other.add(c)
    assert c.id == "AddOne0"


def test_adding_a_pe_twice_is_a_no_op() -> None:
    graph = WorkflowGraph()
    pe = AddOne()
    graph.add(pe)
    graph.add(pe)
    assert graph.nodes == (pe,)
    assert pe.id == "AddOne0"


def test_ids_use_the_pe_name() -> None:
    graph = WorkflowGraph()
    pe = AddOne()
    pe.name = "custom"
    graph.add(pe)
    assert pe.id == "custom0"


def test_ids_are_unique_after_flattening_composites() -> None:
    graph = build_id_graph()
    ids = [pe.id for pe in graph.flat().pes]
    assert len(ids) == len(set(ids))


def _ids_and_edges_in_fresh_interpreter() -> dict[str, Any]:
    code = (
        "import json\n"
        "from d4p_core_tests._pes import build_id_graph\n"
        "g = build_id_graph()\n"
        "flat = g.flat()\n"
        "print(json.dumps({'ids': [pe.id for pe in flat.pes],\n"
        "  'edges': [[c.src.id, c.src_port, c.dst.id, c.dst_port] for c in flat.connections]}))\n"
    )
    completed = subprocess.run(
        [PYTHON, "-c", code],
        env=subprocess_env(PYTHONHASHSEED="123"),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def test_ids_are_identical_in_a_fresh_interpreter() -> None:
    WorkflowGraph().add(AddOne())  # building other graphs first changes nothing
    graph = build_id_graph()
    flat = graph.flat()
    here = {
        "ids": [pe.id for pe in flat.pes],
        "edges": [list(edge) for edge in _edges(graph)],
    }
    assert _ids_and_edges_in_fresh_interpreter() == here
    # and building the same graph twice in one process gives the same ids
    again = build_id_graph()
    assert [pe.id for pe in again.flat().pes] == here["ids"]


# -- composites -----------------------------------------------------------------
def test_composite_is_a_node_until_flattened() -> None:
    composite = CompositePE(_pair_composite)
    assert is_composite(composite)
    assert not is_composite(WorkflowGraph())
    assert not is_composite(AddOne())
    graph = WorkflowGraph()
    graph.connect(NumberProducer(), "output", composite, "input")
    assert composite in graph.nodes


def test_composite_flattens_with_every_connection() -> None:
    graph = WorkflowGraph()
    source = NumberProducer(3)
    composite = CompositePE(_pair_composite)
    graph.connect(source, "output", composite, "input")
    assert _edges(graph) == [
        ("AddOne0", "output", "Double1", "input"),
        ("NumberProducer0", "output", "AddOne0", "input"),
    ]
    assert run_simple(graph).outputs == {"Double1": {"output": [2, 4, 6]}}


def test_composite_create_function_receives_params() -> None:
    def create(composite: CompositePE, factor: int, name: str) -> None:
        pe = SimpleFunctionPE(double_fn, {"factor": factor})
        pe.name = name
        composite._map_input("in", pe, "input")
        composite._map_output("out", pe, "output")

    composite = CompositePE(create, {"factor": 10, "name": "times"})
    graph = WorkflowGraph()
    graph.connect(NumberProducer(2), "output", composite, "in")
    assert run_simple(graph).outputs == {"times0": {"output": [0, 10]}}


def test_fan_out_of_a_composite_output_and_fan_in_to_a_composite_input() -> None:
    graph = WorkflowGraph()
    first, second = NumberProducer(2), NumberProducer(2)
    composite = CompositePE(_pair_composite)
    left, right = Identity(), Identity()
    graph.connect(first, "output", composite, "input")
    graph.connect(second, "output", composite, "input")
    graph.connect(composite, "output", left, "input")
    graph.connect(composite, "output", right, "input")
    edges = _edges(graph)
    assert len(edges) == 5
    inner_first = next(
        e for e in edges if e[1] == "output" and e[3] == "input" and e[0] == first.id
    )
    assert inner_first[2].startswith("AddOne")
    assert sum(1 for e in edges if e[2] == inner_first[2]) == 2  # fan-in kept
    assert sum(1 for e in edges if e[0].startswith("Double")) == 2  # fan-out kept
    outputs = run_simple(graph).outputs
    assert sorted(outputs[left.id]["output"]) == [2, 2, 4, 4]
    assert sorted(outputs[right.id]["output"]) == [2, 2, 4, 4]


def test_multi_edge_into_a_composite_delivers_twice() -> None:
    graph = WorkflowGraph()
    source = NumberProducer(2)
    composite = CompositePE(_pair_composite)
    graph.connect(source, "output", composite, "input")
    graph.connect(source, "output", composite, "input")
    outputs = run_simple(graph).outputs
    assert sorted(next(iter(outputs.values()))["output"]) == [2, 2, 4, 4]


def test_nested_composites_flatten() -> None:
    def wrap(outer: CompositePE) -> None:
        inner = CompositePE(_pair_composite)
        tail = Identity()
        outer.connect(inner, "output", tail, "input")
        outer._map_input("x", inner, "input")
        outer._map_output("y", tail, "output")

    graph = WorkflowGraph()
    outer = CompositePE(wrap)
    graph.connect(NumberProducer(3), "output", outer, "x")
    graph.connect(outer, "y", AddOne(), "input")
    flat = graph.flat()
    assert all(isinstance(pe, GenericPE) for pe in flat.pes)
    assert len(flat.pes) == 5
    assert len(flat.connections) == 4
    outputs = run_simple(graph).outputs
    assert list(outputs.values()) == [{"output": [3, 5, 7]}]


def test_composite_used_between_composites() -> None:
    graph = WorkflowGraph()
    a, b = CompositePE(_pair_composite), CompositePE(_pair_composite)
    graph.connect(NumberProducer(2), "output", a, "input")
    graph.connect(a, "output", b, "input")
    outputs = run_simple(graph).outputs
    assert list(outputs.values()) == [{"output": [6, 10]}]  # ((x+1)*2+1)*2


def test_create_iterative_chain() -> None:
    chain = create_iterative_chain(
        [inc_fn, (double_fn, {"factor": 3})], name_prefix="P_", name_suffix="_s"
    )
    assert is_composite(chain)
    assert [pe.name for pe in chain.flat().pes] == ["P_inc_fn_s", "P_double_fn_s"]
    graph = WorkflowGraph()
    graph.connect(NumberProducer(3), "output", chain, "input")
    assert list(run_simple(graph).outputs.values()) == [{"output": [3, 6, 9]}]


def test_create_iterative_chain_with_custom_function_pe_class() -> None:
    class Tagged(SimpleFunctionPE):
        def _process(self, data: Any) -> Any:
            return ("tag", super()._process(data))

    chain = create_iterative_chain([inc_fn], FunctionPE_class=Tagged)
    assert isinstance(chain.flat().pes[0], Tagged)
    chain2 = create_iterative_chain([inc_fn], function_pe_class=Tagged)
    assert isinstance(chain2.flat().pes[0], Tagged)
    with pytest.raises(ValueError, match="at least one"):
        create_iterative_chain([])


def test_flatten_in_place() -> None:
    graph = WorkflowGraph()
    source = NumberProducer(2)
    composite = CompositePE(_pair_composite)
    sink = Identity()
    graph.connect(source, "output", composite, "input")
    graph.connect(composite, "output", sink, "input")
    before = _edges(graph)

    assert graph.flatten() is graph
    assert all(isinstance(node, GenericPE) for node in graph.nodes)
    assert composite not in graph.nodes
    assert all(
        isinstance(c.src, GenericPE) and isinstance(c.dst, GenericPE) for c in graph.connections
    )
    assert _edges(graph) == before
    assert run_simple(graph).outputs == {sink.id: {"output": [2, 4]}}
    graph.flatten()  # idempotent
    assert _edges(graph) == before


def test_get_contained_objects_sorted_by_id() -> None:
    graph = WorkflowGraph()
    z = Identity()
    z.name = "zzz"
    a = AddOne()
    a.name = "aaa"
    composite = CompositePE(_pair_composite)
    graph.connect(z, "output", composite, "input")
    graph.connect(composite, "output", a, "input")
    contained = graph.get_contained_objects()
    ids = [pe.id for pe in contained]
    assert ids == sorted(ids)
    assert {type(pe) for pe in contained} == {Identity, AddOne, Double}
    assert len(contained) == 4
    assert graph.getContainedObjects() == contained


# -- types ----------------------------------------------------------------------
class TypedSource(NumberProducer):
    def __init__(self) -> None:
        super().__init__()
        self.outputconnections["output"][TYPE] = ["number"]


class PassType(IterativePE):
    """Sets its output type from its input type, like dispel4py PEs do."""

    def set_input_types(self, types: dict[str, Any]) -> None:
        super().set_input_types(types)
        if types.get("input") is not None:
            self.outputconnections["output"][TYPE] = [*types["input"], "passed"]

    setInputTypes = set_input_types


def test_propagate_types_along_the_graph() -> None:
    graph = WorkflowGraph()
    source, middle, last = TypedSource(), PassType(), Identity()
    # connected downstream-first: order of connect() must not matter
    graph.connect(middle, "output", last, "input")
    graph.connect(source, "output", middle, "input")
    graph.propagate_types()
    assert middle.inputconnections["input"][TYPE] == ["number"]
    assert last.inputconnections["input"][TYPE] == ["number", "passed"]


def test_propagate_types_through_composites_and_untyped_outputs() -> None:
    graph = WorkflowGraph()
    source, composite = TypedSource(), CompositePE(_pair_composite)
    graph.connect(source, "output", composite, "input")
    graph.propagate_types()
    inner_first = next(pe for pe in graph.flat().pes if isinstance(pe, AddOne))
    inner_second = next(pe for pe in graph.flat().pes if isinstance(pe, Double))
    assert inner_first.inputconnections["input"][TYPE] == ["number"]
    assert TYPE not in inner_second.inputconnections["input"]


# -- partitions attribute ---------------------------------------------------------
def test_partitions_attribute_defaults_to_none_and_is_settable() -> None:
    graph = WorkflowGraph()
    assert graph.partitions is None
    source, a, b = NumberProducer(), AddOne(), AddOne()
    graph.connect(source, "output", a, "input")
    graph.connect(a, "output", b, "input")
    graph.partitions = [[source], [a, b]]
    assert Plan.build(graph, 3).partitions == (("NumberProducer0",), ("AddOne1", "AddOne2"))


# -- dispel4py-style PEs -----------------------------------------------------------
def test_pe_assigning_connection_dicts_directly_works() -> None:
    graph = WorkflowGraph()
    pe = Dispel4pyStylePE()
    graph.connect(NumberProducer(3), "output", pe, "input")
    assert run_simple(graph).outputs == {pe.id: {"output": [0, 1, 2]}}
    with pytest.raises(GraphError, match="'input'"):
        WorkflowGraph().connect(NumberProducer(), "output", Dispel4pyStylePE(), "wrong")


def test_grouping_assigned_in_dict_or_changed_after_construction_is_honoured() -> None:
    graph = WorkflowGraph()
    source = NumberProducer()
    direct = Dispel4pyStylePE()
    direct.inputconnections = {"input": {NAME: "input", GROUPING: [0]}}
    changed = Identity()
    later = Identity()
    everyone = Identity()
    graph.connect(source, "output", direct, "input")
    graph.connect(direct, "output", changed, "input")
    graph.connect(changed, "output", later, "input")
    graph.connect(later, "output", everyone, "input")
    changed.inputconnections["input"][GROUPING] = "global"
    everyone.inputconnections["input"]["grouping"] = "all"
    later.inputconnections["input"][GROUPING] = ["k"]  # set, then removed again
    del later.inputconnections["input"][GROUPING]

    plan = Plan.build(graph, 8)
    assert plan.routes[(source.id, "output")][0].grouping == GroupBy([0])
    assert plan.routes[(direct.id, "output")][0].grouping == Global()
    assert plan.routes[(changed.id, "output")][0].grouping == Shuffle()
    assert plan.routes[(later.id, "output")][0].grouping == Broadcast()
    assert direct.id in plan.stateful and changed.id in plan.stateful
    assert later.id not in plan.stateful


def test_grouping_added_after_connect_is_honoured() -> None:
    graph = WorkflowGraph()
    source, sink = NumberProducer(), Identity()
    graph.connect(source, "output", sink, "input")
    assert Plan.build(graph, 3).routes[(source.id, "output")][0].grouping == Shuffle()
    sink.inputconnections["input"][GROUPING] = [0]
    assert Plan.build(graph, 3).routes[(source.id, "output")][0].grouping == GroupBy([0])


def test_port_declared_after_construction_can_be_connected() -> None:
    pe = Identity()
    pe.inputconnections["extra"] = {NAME: "extra"}
    graph = WorkflowGraph()
    graph.connect(NumberProducer(1), "output", pe, "extra")
    assert graph.connections[0].dst_port == "extra"
