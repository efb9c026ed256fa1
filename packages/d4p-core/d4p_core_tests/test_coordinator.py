"""The dynamic coordinator on its own, driven like a backend drives it: a
recorded ``send``, an in-flight count the test sets, and reports the test
makes up. What a worker that is gone (``leave``) changes: it is not awaited
in a close round, not addressed again, and a late answer from it counts for
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from d4p_core import BacklogPolicy, WorkflowGraph
from d4p_core.mappings.dynamic.base import DynamicMappingBase
from d4p_core.mappings.dynamic.coordinator import DynamicCoordinator
from d4p_core.planning.plan import Plan
from d4p_core.testing.pes import NumberProducer, PassThrough


class _Backend:
    """What a backend gives the coordinator: counts and a command channel."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.sent: list[tuple[int, str, Any]] = []

    def send(self, worker: int, command: tuple[str, str, Any]) -> None:
        self.sent.append((worker, command[1], command[2]))

    def take(self) -> list[tuple[int, str, Any]]:
        sent, self.sent = self.sent, []
        return sent


def _coordinator(workers: int, **kwargs: Any) -> tuple[DynamicCoordinator, _Backend, list[str]]:
    graph = WorkflowGraph()
    first, second = PassThrough(), PassThrough()
    graph.connect(NumberProducer(), "output", first, "input")
    graph.connect(first, "output", second, "input")
    plan = Plan.build(graph.flat())
    backend = _Backend()
    coordinator = DynamicCoordinator(
        plan,
        workers,
        in_flight=lambda: backend.in_flight,
        completed=lambda: 0,
        send=backend.send,
        **kwargs,
    )
    return coordinator, backend, [first.id, second.id]


def test_a_worker_gone_mid_close_round_is_not_awaited_nor_addressed_again() -> None:
    coordinator, backend, (first, second) = _coordinator(3)
    coordinator.on_report("done", 3, {})  # the sources (index = workers)
    assert backend.take() == [(0, "close", first), (1, "close", first), (2, "close", first)]
    coordinator.on_report("closed", 0, first)
    coordinator.on_report("closed", 2, first)
    assert backend.take() == []  # worker 1 still owes its answer
    coordinator.leave(1)
    assert backend.take() == [(0, "close", second), (2, "close", second)]
    coordinator.on_report("closed", 1, second)  # a late word from the gone worker
    coordinator.on_report("closed", 0, second)
    assert backend.take() == []  # no stop yet: worker 2 owes its answer
    coordinator.on_report("closed", 2, second)
    assert backend.take() == [(0, "stop", None), (2, "stop", None)]
    assert coordinator.stopping
    assert [a["action"] for a in coordinator.actions] == ["lost"]


def test_a_worker_gone_before_the_end_takes_no_part_in_closing() -> None:
    coordinator, backend, (first, _) = _coordinator(2)
    backend.in_flight = 5
    coordinator.on_report("done", 2, {})
    coordinator.leave(0)
    assert backend.take() == []  # work is still in flight
    backend.in_flight = 0
    coordinator.on_report("idle", 1, None)
    assert backend.take() == [(1, "close", first)]


def test_the_last_answer_missing_was_the_gone_workers() -> None:
    coordinator, backend, (first, second) = _coordinator(2)
    coordinator.on_report("done", 2, {})
    backend.take()
    coordinator.on_report("closed", 0, first)
    coordinator.leave(1)  # leaving completes the round: the next one starts
    assert backend.take() == [(0, "close", second)]


def test_an_elastic_pool_may_start_a_worker_in_a_gone_workers_slot() -> None:
    started: list[int] = []
    coordinator, _, _ = _coordinator(2, start=started.append, initial=2)
    coordinator.leave(1)
    assert coordinator.active == {0}
    assert coordinator.live() == (0,)
    assert [a["action"] for a in coordinator.actions] == ["lost"]
    coordinator.leave(1)  # told twice: nothing more happens
    assert [a["action"] for a in coordinator.actions] == ["lost"]


def test_a_policy_needs_workers_that_can_be_started() -> None:
    with pytest.raises(ValueError, match="needs start"):
        _coordinator(2, policy=BacklogPolicy())


def test_an_autoscaled_mapping_cannot_pin_stateful_instances() -> None:
    with pytest.raises(TypeError, match="cannot pin stateful instances"):

        class _Both(DynamicMappingBase[Any]):  # pragma: no cover - refused at definition
            pinned = True
            autoscaled = True
