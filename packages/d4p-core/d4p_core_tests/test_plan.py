"""The plan: instances, routes, end-of-stream counts, state and partitions."""

from __future__ import annotations

import pickle
from collections import Counter as Multiset
from typing import Any

import pytest

from d4p_core import (
    GROUPING,
    Broadcast,
    Global,
    GraphError,
    GroupBy,
    Plan,
    Route,
    Shuffle,
    WorkflowGraph,
)
from d4p_core_tests._pes import (
    AddOne,
    Counter,
    EvenOdd,
    Identity,
    Merge,
    NumberProducer,
    OneProducer,
    build_pipeline,
    run_all_instances,
)


def _numbered(pe: Any, n: int) -> Any:
    pe.numprocesses = n
    return pe


def _split_merge_counter() -> tuple[WorkflowGraph, dict[str, Any]]:
    """Needs 13 processes.

    source -> split(2) -even-> left(2)  -> counter(3, grouped)
                          -odd->  right(4) -> counter
                          -even-> counter  (a third connection, same upstream)"""

    class Keyed(Identity):
        def _process(self, data: Any) -> Any:
            return (data % 5, data)

    graph = WorkflowGraph()
    source = NumberProducer(40)
    split = _numbered(EvenOdd(), 2)
    left = _numbered(Keyed(), 2)
    right = _numbered(Keyed(), 4)
    counter = _numbered(Counter(), 3)
    direct = _numbered(Keyed(), 1)
    graph.connect(source, "output", split, "input")
    graph.connect(split, "even", left, "input")
    graph.connect(split, "odd", right, "input")
    graph.connect(left, "output", counter, "input")
    graph.connect(right, "output", counter, "input")
    graph.connect(split, "even", direct, "input")
    graph.connect(direct, "output", counter, "input")
    pes = {
        "source": source,
        "split": split,
        "left": left,
        "right": right,
        "counter": counter,
        "direct": direct,
    }
    return graph, pes


# -- instances ------------------------------------------------------------------
def test_pipeline_of_six_with_twelve_processes() -> None:
    graph, pes = build_pipeline(OneProducer(), 5)
    plan = Plan.build(graph, 12)
    # 11 spare processes over 5 PEs: 2 each, and the one left over goes to
    # the first (dispel4py would leave it idle).
    assert [plan.instances[pe.id] for pe in pes] == [1, 3, 2, 2, 2, 2]
    assert plan.total_instances == 12
    assert plan.processes == 12


def test_without_processes_every_pe_gets_one_instance() -> None:
    graph, pes = build_pipeline(OneProducer(), 3)
    pes[2].numprocesses = 5
    plan = Plan.build(graph)
    assert set(plan.instances.values()) == {1}
    assert plan.processes is None


def test_explicit_numprocesses_is_honoured_and_the_rest_share() -> None:
    graph, pes = build_pipeline(OneProducer(), 3)
    pes[1].numprocesses = 3
    plan = Plan.build(graph, 10)
    # 10 - source(1) - explicit(3) = 6 shared by 2 PEs
    assert [plan.instances[pe.id] for pe in pes] == [1, 3, 3, 3]


def test_sources_and_single_pes_get_one_instance() -> None:
    graph, pes = build_pipeline(OneProducer(), 3)
    pes[0].numprocesses = 4
    pes[2].single = True  # type: ignore[attr-defined]
    plan = Plan.build(graph, 9)
    assert plan.instances[pes[0].id] == 1
    assert plan.instances[pes[2].id] == 1
    # 7 spare processes over 2 shared PEs: 4 and 3.
    assert plan.instances[pes[1].id] == 4
    assert plan.instances[pes[3].id] == 3


def test_too_few_processes_says_how_many_are_needed() -> None:
    graph, pes = build_pipeline(OneProducer(), 3)
    pes[2].numprocesses = 4
    with pytest.raises(GraphError) as info:
        Plan.build(graph, 5)
    message = str(info.value)
    assert "at least 7 processes" in message
    assert f"{pes[2].id}=4" in message
    assert "only 5 given" in message
    assert Plan.build(graph, 7).instances[pes[2].id] == 4


def test_too_few_processes_without_explicit_numprocesses() -> None:
    graph, _ = build_pipeline(OneProducer(), 3)
    with pytest.raises(GraphError, match="at least 4 processes"):
        Plan.build(graph, 3)
    assert set(Plan.build(graph, 4).instances.values()) == {1}


def test_minimum_processes_matches_build() -> None:
    graph, pes = build_pipeline(OneProducer(), 3)
    pes[3].numprocesses = 3
    needed = Plan.minimum_processes(graph)
    assert needed == 6
    Plan.build(graph, needed)
    with pytest.raises(GraphError):
        Plan.build(graph, needed - 1)


@pytest.mark.parametrize("bad", [0, -1, "2", 1.5, True])
def test_invalid_numprocesses_is_a_graph_error(bad: Any) -> None:
    graph, pes = build_pipeline(OneProducer(), 2)
    pes[1].numprocesses = bad
    with pytest.raises(GraphError, match="numprocesses"):
        Plan.build(graph, 8)


def test_invalid_process_count_and_empty_graph() -> None:
    graph, _ = build_pipeline(OneProducer(), 1)
    with pytest.raises(GraphError, match="at least 1"):
        Plan.build(graph, 0)
    with pytest.raises(GraphError, match="no PEs"):
        Plan.build(WorkflowGraph())


# -- end-of-stream counts ---------------------------------------------------------------
def test_eos_expected_counts_every_upstream_instance() -> None:
    graph, pes = _split_merge_counter()
    plan = Plan.build(graph, 13)
    ids = {name: pe.id for name, pe in pes.items()}
    instances = {name: plan.instances[pe_id] for name, pe_id in ids.items()}
    assert instances == {
        "source": 1,
        "split": 2,
        "left": 2,
        "right": 4,
        "counter": 3,
        "direct": 1,
    }
    assert plan.eos_expected[ids["source"]] == 0
    assert plan.eos_expected[ids["split"]] == 1
    assert plan.eos_expected[ids["left"]] == 2
    assert plan.eos_expected[ids["right"]] == 2
    # one marker from every instance of every distinct upstream PE: 2 + 4 + 1
    assert plan.eos_expected[ids["counter"]] == 7
    assert set(plan.upstream[ids["counter"]]) == {ids["left"], ids["right"], ids["direct"]}


def test_replicated_grouped_counter_fed_by_several_connections_terminates() -> None:
    """The dispel4py hang: every instance ends, and the counts are exact."""
    graph, pes = _split_merge_counter()
    outputs, hosted = run_all_instances(graph, 13)
    counter_id = pes["counter"].id
    pairs = outputs[counter_id]["output"]
    # every even number arrives twice (left and direct), every odd once
    per_key = Multiset(key for key, _ in pairs)
    expected = Multiset((n % 5) for n in range(40) for _ in range(2 if n % 2 == 0 else 1))
    assert per_key == expected
    # group-by: each key's counts are exactly 1..c on a single instance
    for key, count in per_key.items():
        assert sorted(c for k, c in pairs if k == key) == list(range(1, count + 1))
    owners = {
        key: [i for i in range(3) if key in hosted[(counter_id, i)].counts]  # type: ignore[attr-defined]
        for key in per_key
    }
    assert all(len(instances) == 1 for instances in owners.values())


def test_eos_expected_with_multi_edge_from_one_replicated_pe() -> None:
    graph = WorkflowGraph()
    source, stage, merge = OneProducer(), _numbered(Identity(), 3), _numbered(Merge(), 2)
    graph.connect(source, "output", stage, "input")
    graph.connect(stage, "output", merge, "a")
    graph.connect(stage, "output", merge, "b")
    graph.connect(stage, "output", merge, "b")
    plan = Plan.build(graph, 6)
    assert plan.eos_expected[merge.id] == 3
    assert len(plan.routes[(stage.id, "output")]) == 3
    outputs, _ = run_all_instances(graph, 6, inputs=5)
    assert Multiset(outputs[merge.id]["output"]) == Multiset({n: 3 for n in range(5)})


# -- routes -------------------------------------------------------------------------
def test_routes_table() -> None:
    graph = WorkflowGraph()
    source, split = NumberProducer(), EvenOdd()
    counter, everyone, one = Counter(), Identity(), Identity()
    everyone.inputconnections["input"][GROUPING] = "all"
    one.inputconnections["input"][GROUPING] = "global"
    graph.connect(source, "output", split, "input")
    graph.connect(split, "even", counter, "input")
    graph.connect(split, "even", everyone, "input")
    graph.connect(split, "odd", one, "input")
    graph.connect(split, "odd", one, "input")
    plan = Plan.build(graph, 9)
    n = plan.instances
    assert plan.routes[(source.id, "output")] == (Route(split.id, "input", Shuffle(), n[split.id]),)
    assert plan.routes[(split.id, "even")] == (
        Route(counter.id, "input", GroupBy([0]), n[counter.id]),
        Route(everyone.id, "input", Broadcast(), n[everyone.id]),
    )
    assert plan.routes[(split.id, "odd")] == (
        Route(one.id, "input", Global(), n[one.id]),
        Route(one.id, "input", Global(), n[one.id]),
    )
    assert (counter.id, "output") not in plan.routes
    assert plan.unconnected_outputs(counter.id) == ("output",)
    assert plan.unconnected_outputs(split.id) == ()
    assert plan.outputs[split.id] == ("even", "odd")
    assert plan.downstream[split.id] == (counter.id, everyone.id, one.id)
    assert plan.upstream[one.id] == (split.id,)


def test_invalid_grouping_is_a_graph_error_naming_the_pe() -> None:
    graph = WorkflowGraph()
    sink = Identity()
    sink.inputconnections["input"][GROUPING] = "sideways"
    graph.connect(OneProducer(), "output", sink, "input")
    with pytest.raises(GraphError) as info:
        Plan.build(graph)
    assert sink.id in str(info.value) and "sideways" in str(info.value)


def test_pe_ids_are_topological_whatever_the_connect_order() -> None:
    graph = WorkflowGraph()
    a, b, c = Identity(), Identity(), OneProducer()
    graph.connect(a, "output", b, "input")
    graph.connect(c, "output", a, "input")
    plan = Plan.build(graph)
    assert plan.pe_ids == (c.id, a.id, b.id)
    assert plan.sources == (c.id,)
    assert dict(plan.names) == {a.id: "Identity", b.id: "Identity", c.id: "OneProducer"}


def test_several_sources() -> None:
    graph = WorkflowGraph()
    first, second, merge = OneProducer(), NumberProducer(), Merge()
    graph.connect(first, "output", merge, "a")
    graph.connect(second, "output", merge, "b")
    plan = Plan.build(graph, 5)
    assert set(plan.sources) == {first.id, second.id}
    assert plan.eos_expected[merge.id] == 2


def test_build_from_a_flat_graph() -> None:
    graph, _ = build_pipeline(OneProducer(), 2)
    assert Plan.build(graph.flat(), 3) == Plan.build(graph, 3)


# -- state ----------------------------------------------------------------------------
def test_stateful_detection_and_pinned() -> None:
    class Remembers(Identity):
        stateful = True

    graph = WorkflowGraph()
    source = OneProducer()
    grouped, everyone, one, marked, plain = (
        Counter(),
        Identity(),
        Identity(),
        Remembers(),
        Identity(),
    )
    everyone.inputconnections["input"][GROUPING] = "all"
    one.inputconnections["input"][GROUPING] = "global"
    split = EvenOdd()
    graph.connect(source, "output", split, "input")
    graph.connect(split, "even", grouped, "input")
    graph.connect(split, "even", everyone, "input")
    graph.connect(split, "odd", one, "input")
    graph.connect(split, "odd", marked, "input")
    graph.connect(split, "odd", plain, "input")
    plan = Plan.build(graph)
    assert plan.stateful == frozenset({grouped.id, everyone.id, one.id, marked.id})
    assert plan.pinned == plan.stateful | {source.id}
    assert plain.id not in plan.pinned and split.id not in plan.pinned


def test_stateful_attribute_can_be_a_grouping_spelling() -> None:
    graph = WorkflowGraph()
    pe = Identity()
    pe.stateful = [0]  # hybrid_redis-style
    graph.connect(OneProducer(), "output", pe, "input")
    assert pe.id in Plan.build(graph).stateful


# -- partitions --------------------------------------------------------------------------
def test_linear_chain_is_one_partition() -> None:
    graph, pes = build_pipeline(OneProducer(), 4)
    plan = Plan.build(graph, 9)
    assert plan.partitions == ((pes[0].id,), tuple(pe.id for pe in pes[1:]))
    # with one instance each the whole pipeline is one chain
    assert Plan.build(graph).partitions == (tuple(pe.id for pe in pes),)


def test_chain_breaks_at_fan_out_and_fan_in() -> None:
    graph = WorkflowGraph()
    source, a, b, merge, tail = OneProducer(), AddOne(), AddOne(), Merge(), Identity()
    graph.connect(source, "output", a, "input")
    graph.connect(source, "output", b, "input")
    graph.connect(a, "output", merge, "a")
    graph.connect(b, "output", merge, "b")
    graph.connect(merge, "output", tail, "input")
    plan = Plan.build(graph)
    assert plan.partitions == (
        (source.id,),
        (a.id,),
        (b.id,),
        (merge.id, tail.id),
    )


def test_chain_breaks_at_group_by_with_several_instances_only() -> None:
    graph = WorkflowGraph()
    source, keyed, counter, tail = OneProducer(), Identity(), Counter(), Identity()
    graph.connect(source, "output", keyed, "input")
    graph.connect(keyed, "output", counter, "input")
    graph.connect(counter, "output", tail, "input")
    # one instance each: a group-by does not matter
    assert Plan.build(graph).partitions == ((source.id, keyed.id, counter.id, tail.id),)
    # two instances each: the group-by needs a shuffle between processes
    plan = Plan.build(graph, 7)
    assert [plan.instances[pe.id] for pe in (keyed, counter, tail)] == [2, 2, 2]
    assert plan.partitions == ((source.id,), (keyed.id,), (counter.id, tail.id))


def test_chain_breaks_where_the_instance_count_changes() -> None:
    graph, pes = build_pipeline(OneProducer(), 3)
    pes[2].numprocesses = 3
    plan = Plan.build(graph, 6)
    assert [plan.instances[pe.id] for pe in pes] == [1, 1, 3, 1]
    assert plan.partitions == ((pes[0].id, pes[1].id), (pes[2].id,), (pes[3].id,))


def test_partitions_cover_every_pe_once() -> None:
    graph, _ = _split_merge_counter()
    plan = Plan.build(graph, 13)
    flat = [pe_id for partition in plan.partitions for pe_id in partition]
    assert sorted(flat) == sorted(plan.pe_ids)


def test_user_partitions_are_honoured() -> None:
    graph, pes = build_pipeline(OneProducer(), 4)
    graph.partitions = [[pes[2], pes[1]], [pes[4]]]
    plan = Plan.build(graph, 5)
    assert plan.partitions == (
        (pes[1].id, pes[2].id),  # in topological order
        (pes[4].id,),
        (pes[0].id, pes[3].id),  # PEs not mentioned
    )


def test_user_partitions_errors() -> None:
    graph, pes = build_pipeline(OneProducer(), 2)
    graph.partitions = [[pes[1]], [pes[1]]]
    with pytest.raises(GraphError, match="twice"):
        Plan.build(graph)
    graph.partitions = [[AddOne()]]
    with pytest.raises(GraphError, match="not in the graph"):
        Plan.build(graph)


# -- describe / pickling ----------------------------------------------------------------------
def test_describe_mentions_every_pe_and_route() -> None:
    graph, pes = _split_merge_counter()
    plan = Plan.build(graph, 13)
    text = plan.describe()
    for pe in pes.values():
        assert pe.id in text
    assert "planned for: 13 processes" in text
    assert "group_by[0]" in text
    assert "(result)" in text
    assert "[source]" in text and "stateful" in text
    assert "partitions:" in text
    assert "planned for: one instance per PE" in Plan.build(graph).describe()


def test_plan_is_immutable() -> None:
    graph, _ = build_pipeline(OneProducer(), 1)
    plan = Plan.build(graph)
    with pytest.raises(AttributeError):
        plan.processes = 3  # type: ignore[misc]


def test_plan_pickles() -> None:
    graph, _ = _split_merge_counter()
    plan = Plan.build(graph, 13)
    copy = pickle.loads(pickle.dumps(plan))
    assert copy == plan
    assert copy.describe() == plan.describe()


def test_a_stateful_pe_without_grouping_keeps_one_instance() -> None:
    """Spare processes must not split the state of a PE declared stateful."""
    from d4p_core.testing.workflows import build_even_odd

    plan = Plan.build(build_even_odd(), 8)
    assert plan.instances["EvenOddPairer3"] == 1
    assert plan.instances["ModFilter1"] > 1  # stateless PEs still share the rest
    graph = build_even_odd()
    graph.flat().by_id()["EvenOddPairer3"].numprocesses = 2  # asked for: honoured
    assert Plan.build(graph, 8).instances["EvenOddPairer3"] == 2


# -- 'global' inputs -------------------------------------------------------------------
def test_a_pe_whose_inputs_are_all_global_gets_one_instance() -> None:
    graph = WorkflowGraph()
    source, total, spread = NumberProducer(), Identity(), Identity()
    total.inputconnections["input"][GROUPING] = "global"
    graph.connect(source, "output", total, "input")
    graph.connect(source, "output", spread, "input")
    plan = Plan.build(graph, 8)
    assert plan.instances[total.id] == 1
    assert plan.instances[spread.id] == 6  # the spare processes go to the others
    assert plan.global_only == {total.id}
    assert f"{total.id}: 1 instance(s) [stateful, all inputs 'global': one instance]" in (
        plan.describe()
    )


def test_numprocesses_on_a_global_only_pe_is_a_graph_error() -> None:
    graph = WorkflowGraph()
    total = Identity()
    total.numprocesses = 3
    total.inputconnections["input"][GROUPING] = "global"
    graph.connect(NumberProducer(), "output", total, "input")
    for processes in (None, 8):
        with pytest.raises(GraphError, match=rf"{total.id}.*numprocesses=3.*'global'"):
            Plan.build(graph, processes)


def test_one_global_input_among_others_keeps_the_instances() -> None:
    graph = WorkflowGraph()
    source, split, both = NumberProducer(), EvenOdd(), Merge()
    both.inputconnections["a"][GROUPING] = "global"
    graph.connect(source, "output", split, "input")
    graph.connect(split, "even", both, "a")
    graph.connect(split, "odd", both, "b")
    both.numprocesses = 2
    assert Plan.build(graph, 8).instances[both.id] == 2
