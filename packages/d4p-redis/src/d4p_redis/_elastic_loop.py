"""The driver's loop of ``dyn_auto_redis``: workers come and go.

The coordinator numbers the driver's own worker *slots* ``0..local-1`` (the
sources: ``local``); the policy grows by starting a process in a free slot
and shrinks by sending ``retire``. Every process the driver starts gets a
new member id (:meth:`ElasticLoop.start`), so a later process in a reused
slot is never mistaken for its predecessor: its reports, its commands
stream, its pending tasks and its death are its own. External workers
(``d4p worker redis``) join at any time until the membership is sealed; the
coordinator knows each as index ``local + 1 + member`` and counts it active
at once (:meth:`~d4p_core.backend.DynamicCoordinator.join`).

A worker that dies (a local process that exited, an external one whose
heartbeat lapsed) hands back at once what it held: its unacknowledged tasks
go back to the task stream in one atomic step (:data:`._scripts.HAND_BACK`),
so another worker takes them now rather than after ``claim_idle``; if the
worker was only slow and commits them later, that commit is refused (each
task's output is written once). The run fails once more local processes
died than it has slots: a task that kills every worker that takes it must
not go round forever.
"""

from __future__ import annotations

import time
from typing import Any

from d4p_core import RunError
from d4p_core.backend import Report, workers_die_holding_nothing

from ._driver import Driver
from ._dynamic_loop import DynamicLoop
from ._join import SOURCE

__all__ = ["ElasticLoop"]


class ElasticLoop(DynamicLoop):
    """Member ids apart from slots; external workers joining and leaving."""

    beat_check = 0.2  # external workers are counted soon after they join

    def __init__(self, driver: Driver, local: int, wait_workers: float) -> None:
        super().__init__(driver, set(), local, wait_workers)
        self.slot_of: dict[int, int] = {}  # local member -> slot
        self.member_in: dict[int, int] = {}  # slot -> member of its latest process
        self.joined: dict[int, float] = {}  # external member -> when it was counted
        self.left: dict[int, float] = {}  # external member -> when it was done or lost
        self.empty_deaths = 0  # local processes that died holding no task

    # -- member ids and coordinator indices ----------------------------------
    def index(self, member: int) -> int:
        if member == SOURCE:
            return self.local
        slot = self.slot_of.get(member)
        return slot if slot is not None else self.local + 1 + member

    def member(self, index: int) -> int:
        if index < self.local:
            return self.member_in[index]
        return index - self.local - 1

    def external(self, members: int) -> list[int]:
        return [m for m in range(members) if m not in self.slot_of]

    def expected(self) -> set[int]:
        return set(self.slot_of) | set(self.joined)

    # -- growing and joining -------------------------------------------------------
    def start(self, slot: int) -> None:
        """The coordinator's ``start``: a new process (new member id) in ``slot``."""
        member = int(self.client.incr(self.keys.members)) - 1
        self.driver.lease.create([self.keys.commands(member)])
        self.slot_of[member] = slot
        self.member_in[slot] = member
        self.driver.start("worker", member)

    def on_members(self, members: int) -> None:
        for member in self.external(members):
            if member not in self.joined and member not in self.dead:
                self.joined[member] = time.monotonic()
                self.coordinator.join(self.index(member))

    def on_sealed(self, members: int) -> None:
        # The last ones to join take part in closing; one that died is
        # found by its missing heartbeat and leaves.
        self.on_members(members)

    def _coordinate(self, kind: Report, member: int, payload: Any) -> None:
        super()._coordinate(kind, member, payload)
        if member in self.joined and member in self.sink.finished:
            self.left.setdefault(member, time.monotonic())

    # -- losing ----------------------------------------------------------------------
    def lose(self, member: int, how: str) -> None:
        self.driver.lease.verify()  # a worker that found the run gone is no lost worker
        self.dead.add(member)
        held = self.driver.session.hand_back(member, died=True)
        if member in self.joined:
            self.left.setdefault(member, time.monotonic())
        elif not held:
            # A task that kills its workers is failed by the workers after
            # --max-deaths (each death is counted on the tasks it held). A
            # process that dies holding nothing (at its start, say) would be
            # replaced for ever: the run ends instead.
            self.empty_deaths += 1
            if self.empty_deaths > max(self.local, 1):
                raise workers_die_holding_nothing(self.empty_deaths, how)
        self.coordinator.leave(self.index(member))
        if self.sealed and not (self.coordinator.active or self.coordinator.retiring):
            # PEs are being closed: no worker may start any more.
            raise RunError(f"the last worker died while the PEs were closed ({how})")

    def external_seconds(self) -> float:
        """Seconds the external workers took part, summed (from when the
        driver counted each to its ``done`` or its loss)."""
        now = time.monotonic()
        return sum(self.left.get(m, now) - since for m, since in self.joined.items())
