"""The Executor with a fake in-memory transport hosting part of a plan."""

from __future__ import annotations

from collections import Counter as Multiset
from typing import Any

import pytest

from d4p_core import (
    GROUPING,
    Address,
    Batch,
    Executor,
    GenericPE,
    PEFailure,
    Plan,
    WorkflowGraph,
    instantiate,
)
from d4p_core.testing.pes import CountingProducer, PartialSum
from d4p_core_tests._pes import (
    AddOne,
    Counter,
    Failing,
    Identity,
    NumberProducer,
    SumInPostprocess,
    run_all_instances,
)

Event = tuple[str, Address, Any]


class FakeTransport:
    """Records what an executor sends, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def send(self, dst: Address, batch: Batch) -> None:
        # A batch is segments (input, [values]); record it item by item.
        self.events.append(("batch", dst, [(name, v) for name, values in batch for v in values]))

    def send_eos(self, dst: Address) -> None:
        self.events.append(("eos", dst, None))

    def items_for(self, dst: Address) -> list[Any]:
        return [v for kind, d, b in self.events if kind == "batch" and d == dst for _, v in b]

    def batches_for(self, dst: Address) -> list[list[tuple[str, Any]]]:
        return [b for kind, d, b in self.events if kind == "batch" and d == dst]


def _source_to(
    receiver: GenericPE, instances: int, count: int = 10, *, source: GenericPE | None = None
) -> tuple[Plan, GenericPE]:
    graph = WorkflowGraph()
    src = source or NumberProducer(count)
    receiver.numprocesses = instances
    graph.connect(src, "output", receiver, "input")
    return Plan.build(graph, instances + 1), src


def _run_source(plan: Plan, source: GenericPE, batch_size: int = 256) -> FakeTransport:
    transport = FakeTransport()
    executor = Executor(plan, {(source.id, 0): source}, transport=transport, batch_size=batch_size)
    executor.start()
    executor.feed({source.id: 1})
    executor.flush()
    assert executor.done
    return transport


def _is_done(executor: Executor) -> bool:
    return executor.done


# -- batching and end-of-stream ------------------------------------------------------
def test_batches_are_flushed_by_size_and_by_flush() -> None:
    plan, source = _source_to(Identity(), 1, count=7)
    dst = (plan.pe_ids[1], 0)
    transport = FakeTransport()
    executor = Executor(plan, {(source.id, 0): source}, transport=transport, batch_size=3)
    executor.start()
    source.process({})
    assert transport.batches_for(dst) == [
        [("input", 0), ("input", 1), ("input", 2)],
        [("input", 3), ("input", 4), ("input", 5)],
    ]
    executor.flush()
    assert transport.batches_for(dst)[-1] == [("input", 6)]
    executor.flush()  # nothing left: no empty batch
    assert len(transport.batches_for(dst)) == 3


def test_eos_after_all_data_to_every_instance() -> None:
    plan, source = _source_to(Identity(), 3, count=10)
    transport = _run_source(plan, source, batch_size=4)
    receiver = plan.pe_ids[1]
    for index in range(3):
        dst = (receiver, index)
        events = [(kind, d) for kind, d, _ in transport.events if d == dst]
        assert events[-1] == ("eos", dst)
        assert events.count(("eos", dst)) == 1
    assert sorted(v for i in range(3) for v in transport.items_for((receiver, i))) == list(
        range(10)
    )


def test_postprocess_output_is_delivered_before_eos() -> None:
    class EmitsLate(NumberProducer):
        def _postprocess(self) -> None:
            self.write("output", "late")

    plan, source = _source_to(Identity(), 2, count=3, source=EmitsLate(3))
    transport = _run_source(plan, source)
    receiver = plan.pe_ids[1]
    all_items = [v for i in range(2) for v in transport.items_for((receiver, i))]
    assert "late" in all_items
    for index in range(2):
        dst = (receiver, index)
        kinds = [kind for kind, d, _ in transport.events if d == dst]
        assert kinds[-1] == "eos"


def test_receiving_side_processes_batches_and_ends_after_all_eos() -> None:
    plan, _ = _source_to(SumInPostprocess(), 2)
    receiver_id = plan.pe_ids[1]
    results: list[tuple[str, str, Any]] = []
    pe = SumInPostprocess()
    executor = Executor(
        plan, {(receiver_id, 1): pe}, on_result=lambda *r: results.append(r), batch_size=2
    )
    executor.start()
    executor.feed({})  # hosts no source: nothing to do yet
    assert not _is_done(executor)
    executor.receive((receiver_id, 1), [("input", [5, 6])])
    assert results == []
    assert plan.eos_expected[receiver_id] == 1
    executor.receive_eos((receiver_id, 1))
    assert executor.done
    assert results == [(receiver_id, "output", 11)]
    metrics = executor.metrics()[receiver_id]
    assert (metrics.items_in, metrics.items_out, metrics.instances) == (2, 1, 1)


def test_waits_for_eos_from_every_upstream_instance() -> None:
    graph = WorkflowGraph()
    source, middle, last = NumberProducer(), Identity(), SumInPostprocess()
    middle.numprocesses = 3
    graph.connect(source, "output", middle, "input")
    graph.connect(middle, "output", last, "input")
    plan = Plan.build(graph, 5)
    assert plan.instances[middle.id] == 3 and plan.instances[last.id] == 1
    results: list[Any] = []
    executor = Executor(plan, {(last.id, 0): last}, on_result=lambda *r: results.append(r[2]))
    executor.start()
    for index in range(3):
        executor.receive((last.id, 0), [("input", [index])])
        assert not executor.done
        executor.receive_eos((last.id, 0))
    assert executor.done
    assert results == [0 + 1 + 2]


def test_without_transport_remote_delivery_is_an_error() -> None:
    plan, source = _source_to(Identity(), 1, count=1)
    executor = Executor(plan, {(source.id, 0): source}, batch_size=1)
    executor.start()
    with pytest.raises(PEFailure, match="no transport"):
        executor.feed({source.id: 1})


# -- groupings -----------------------------------------------------------------------
def test_shuffle_is_round_robin_offset_by_sender_instance() -> None:
    graph = WorkflowGraph()
    source, middle, last = NumberProducer(), Identity(), Identity()
    middle.numprocesses = 3
    last.numprocesses = 3
    graph.connect(source, "output", middle, "input")
    graph.connect(middle, "output", last, "input")
    plan = Plan.build(graph, 7)
    for sender in range(3):
        transport = FakeTransport()
        pe = Identity()
        executor = Executor(plan, {(middle.id, sender): pe}, transport=transport, batch_size=1)
        executor.start()
        executor.receive((middle.id, sender), [("input", list(range(6)))])
        for index in range(3):
            expected = [i for i in range(6) if (sender + i) % 3 == index]
            assert transport.items_for((last.id, index)) == expected


def test_shuffle_round_robin_is_per_route() -> None:
    graph = WorkflowGraph()
    source, a, b = NumberProducer(), Identity(), Identity()
    a.numprocesses = b.numprocesses = 2
    graph.connect(source, "output", a, "input")
    graph.connect(source, "output", b, "input")
    plan = Plan.build(graph, 5)
    transport = _run_source(plan, source, batch_size=1)
    for pe in (a, b):
        assert transport.items_for((pe.id, 0)) == [0, 2, 4, 6, 8]
        assert transport.items_for((pe.id, 1)) == [1, 3, 5, 7, 9]


def test_broadcast_sends_to_every_instance() -> None:
    receiver = Identity()
    receiver.inputconnections["input"][GROUPING] = "all"
    plan, source = _source_to(receiver, 3, count=4)
    transport = _run_source(plan, source)
    for index in range(3):
        assert transport.items_for((receiver.id, index)) == [0, 1, 2, 3]


def test_global_sends_to_instance_zero() -> None:
    # Plan.build gives a global-only PE one instance; a plan may still say 3.
    receiver = Identity()
    receiver.inputconnections["input"][GROUPING] = "global"
    graph = WorkflowGraph()
    source = NumberProducer(5)
    graph.connect(source, "output", receiver, "input")
    plan = Plan.build(graph, instances={receiver.id: 3})
    transport = _run_source(plan, source)
    assert transport.items_for((receiver.id, 0)) == [0, 1, 2, 3, 4]
    assert transport.items_for((receiver.id, 1)) == []
    assert transport.items_for((receiver.id, 2)) == []
    # but every instance still gets its end-of-stream
    assert sum(1 for kind, _, _ in transport.events if kind == "eos") == 3


def test_group_by_same_key_same_instance() -> None:
    class Words(NumberProducer):
        def _process(self, inputs: Any) -> Any:
            for i in range(60):
                self.write("output", (f"w{i % 7}", i))

    receiver = Counter()
    plan, source = _source_to(receiver, 3, source=Words())
    transport = _run_source(plan, source, batch_size=5)
    owner: dict[str, int] = {}
    for index in range(3):
        for word, _ in transport.items_for((receiver.id, index)):
            assert owner.setdefault(word, index) == index
    assert len(owner) == 7
    assert len(set(owner.values())) > 1


def test_all_instances_in_one_executor() -> None:
    graph = WorkflowGraph()
    source, middle, counter = NumberProducer(30), AddOne(), Counter()
    middle.numprocesses, counter.numprocesses = 3, 2

    class Keyed(AddOne):
        def _process(self, data: Any) -> Any:
            return (data % 4, data)

    keyed = Keyed()
    keyed.numprocesses = 2
    graph.connect(source, "output", middle, "input")
    graph.connect(middle, "output", keyed, "input")
    graph.connect(keyed, "output", counter, "input")
    outputs, hosted = run_all_instances(graph, 8)
    pairs = outputs[counter.id]["output"]
    assert Multiset(k for k, _ in pairs) == Multiset((n + 1) % 4 for n in range(30))
    assert hosted[(middle.id, 0)] is not middle  # every instance is a fresh copy
    assert hosted[(middle.id, 1)] is not hosted[(middle.id, 0)]
    assert isinstance(hosted[(middle.id, 2)], AddOne)


def test_instantiate_gives_every_instance_a_fresh_copy() -> None:
    pe = Identity()
    pe.id = "x"
    hosted = instantiate({"x": pe}, [("x", 0), ("x", 1), ("x", 2)])
    copies = list(hosted.values())
    assert all(copy is not pe for copy in copies)
    assert len({id(copy) for copy in copies}) == 3
    assert all(copy.id == "x" for copy in copies)


def test_a_pe_that_cannot_be_copied_runs_as_itself_once() -> None:
    import threading

    pe = Identity()
    pe.id = "x"
    pe.lock = threading.Lock()  # type: ignore[attr-defined]  # neither pickled nor deep-copied
    assert instantiate({"x": pe}, [("x", 0)])[("x", 0)] is pe
    with pytest.raises(TypeError):
        instantiate({"x": pe}, [("x", 0), ("x", 1)])


def test_copies_carry_the_whole_state() -> None:
    # GenericPE.__setstate__ sets attribute by attribute (see its comment).
    pe = Identity()
    pe.id = "x"
    pe.table = {"a": [1, 2]}  # type: ignore[attr-defined]
    copy = instantiate({"x": pe}, [("x", 0)])[("x", 0)]
    assert copy.__getstate__() == pe.__getstate__()
    assert copy.table is not pe.table  # type: ignore[attr-defined]


def test_instantiate_copies_unpicklable_pes() -> None:
    pe = Identity()
    pe.id = "x"
    pe.fn = lambda v: v  # type: ignore[attr-defined]
    hosted = instantiate({"x": pe}, [("x", 0), ("x", 1)])
    assert hosted[("x", 1)] is not pe


def test_executor_sets_rank_and_instance() -> None:
    plan, _ = _source_to(Identity(), 3)
    pe = Identity()
    Executor(plan, {(plan.pe_ids[1], 2): pe})
    assert pe.rank == 2 and pe.instance == 2


# -- failures ------------------------------------------------------------------------
def test_failure_in_process_carries_pe_instance_phase_and_input() -> None:
    plan, _ = _source_to(Failing("process", on=7), 3)
    receiver_id = plan.pe_ids[1]
    executor = Executor(plan, {(receiver_id, 2): Failing("process", on=7)})
    executor.start()
    with pytest.raises(PEFailure) as info:
        executor.receive((receiver_id, 2), [("input", [6, 7])])
    failure = info.value.info
    assert failure.pe_id == receiver_id
    assert failure.instance == 2
    assert failure.phase == "process"
    assert failure.input_repr == "{'input': 7}"
    assert failure.error == "ValueError: boom on 7"
    assert "boom on 7" in failure.traceback and "Traceback" in failure.traceback
    assert receiver_id in str(info.value) and "instance 2" in str(info.value)


@pytest.mark.parametrize("phase", ["preprocess", "postprocess"])
def test_failure_in_lifecycle_phase(phase: str) -> None:
    plan, _ = _source_to(Failing(phase), 2)
    receiver_id = plan.pe_ids[1]
    executor = Executor(plan, {(receiver_id, 1): Failing(phase)})
    if phase == "preprocess":
        with pytest.raises(PEFailure) as info:
            executor.start()
    else:
        executor.start()
        with pytest.raises(PEFailure) as info:
            executor.receive_eos((receiver_id, 1))
    failure = info.value.info
    assert (failure.pe_id, failure.instance, failure.phase) == (receiver_id, 1, phase)
    assert failure.input_repr is None
    assert f"boom in {phase}" in failure.error


def test_failure_input_repr_is_truncated() -> None:
    plan, _ = _source_to(Failing("process", on="x" * 2000), 1)
    receiver_id = plan.pe_ids[1]
    executor = Executor(plan, {(receiver_id, 0): Failing("process", on="x" * 2000)})
    executor.start()
    with pytest.raises(PEFailure) as info:
        executor.receive((receiver_id, 0), [("input", ["x" * 2000])])
    text = info.value.info.input_repr
    assert text is not None and len(text) <= 500 and text.endswith("...")


def test_failure_to_error_is_a_run_error() -> None:
    plan, _ = _source_to(Failing("process", on=1), 1)
    receiver_id = plan.pe_ids[1]
    executor = Executor(plan, {(receiver_id, 0): Failing("process", on=1)})
    with pytest.raises(PEFailure) as info:
        executor.receive((receiver_id, 0), [("input", [1])])
    error = info.value.info.to_error()
    assert error.pe_id == receiver_id and error.instance == 0 and error.phase == "process"
    assert error.input_repr == "{'input': 1}"
    assert error.remote_traceback == info.value.info.traceback


def test_serve_stops_exactly_at_the_last_end_of_stream() -> None:
    plan, _ = _source_to(Identity(), 1)
    receiver_id = plan.pe_ids[1]
    results: list[Any] = []
    executor = Executor(
        plan,
        {(receiver_id, 0): Identity()},
        on_result=lambda pe, out, value: results.append(value),
    )
    messages: list[tuple[tuple[str, int], Any]] = [
        ((receiver_id, 0), [("input", [1, 2])]),
        ((receiver_id, 0), None),
        ((receiver_id, 0), [("input", [99])]),  # must never be read
    ]
    waits: list[int] = []

    def next_message(before_wait: Any) -> tuple[tuple[str, int], Any]:
        before_wait()
        waits.append(len(messages))
        return messages.pop(0)

    executor.start()
    executor.serve(next_message)
    assert executor.done
    assert results == [1, 2]
    assert len(messages) == 1
    assert waits == [3, 2]


def test_close_all_ends_every_hosted_pe_upstream_first() -> None:
    """A dynamic worker leaving the run: the first partial sum's postprocess
    output reaches the second before the second closes; sources stay open."""
    graph = WorkflowGraph()
    source, first, second = CountingProducer(), PartialSum(), PartialSum()
    graph.connect(source, "output", first, "input")
    graph.connect(first, "output", second, "input")
    plan = Plan.build(graph)
    results: list[Any] = []
    hosted = {(first.id, 0): first, (second.id, 0): second, (source.id, 0): source}
    executor = Executor(
        plan, hosted, on_result=lambda pe, out, value: results.append(value), end_of_stream=False
    )
    executor.start()
    executor.receive((first.id, 0), [("input", [1, 2, 3])])
    executor.close_all()
    assert results == [6]  # second summed what first wrote when it closed
    executor.close_all()
    assert results == [6]  # closing again changes nothing
    assert not executor.done  # the source was left to end by itself
