"""The driver's loop of a dynamic Redis run: feeds core's coordinator the
workers' reports, delivers its commands, and tells it which workers died
(their tasks handed back first).

Workers are known to Redis by their *member id* (their commands stream,
consumer name, heartbeat key and the index in their reports). Here, as in
``dyn_redis`` and ``hybrid_redis``, a member id is also the coordinator's
worker index: slots ``0..local-1`` are the driver's processes, the others
external workers, which join until the membership is sealed (the sources are
done and nothing is in flight) and then take part in closing. The elastic
loop of ``dyn_auto_redis`` (:mod:`._elastic_loop`) keeps the two apart.
"""

from __future__ import annotations

import time
from typing import Any

from d4p_core import RunError, ServiceUnavailableError
from d4p_core.backend import DynamicCoordinator, Report

from ._driver import Driver
from ._join import SOURCE
from ._server import BLOCK_MS

__all__ = ["DynamicLoop"]

BEAT_CHECK = 1.0  # seconds between checks of the external workers' heartbeats


class DynamicLoop:
    """Feeds the coordinator; hands back what dead workers held."""

    coordinator: DynamicCoordinator

    def __init__(self, driver: Driver, owners: set[int], local: int, wait_workers: float) -> None:
        self.driver = driver
        self.sink = driver.sink
        self.client = driver.client
        self.keys = driver.keys
        self.local = local
        self.owners = owners  # members hosting pinned instances
        self.dead: set[int] = set()  # member ids
        self.sealed = False
        self.sources_done = False
        self._next_beat_check = 0.0
        self.wait_workers = wait_workers
        self._alone_since = time.monotonic()  # no live worker since (external workers only)
        # How long to wait for a report: the autoscaling policy is asked
        # between two waits, so an elastic loop waits no longer than its interval.
        self.block_ms = BLOCK_MS

    # -- member ids and coordinator indices ----------------------------------
    def index(self, member: int) -> int:
        """The coordinator's index of a member (the sources: ``workers``)."""
        return self.coordinator.workers if member == SOURCE else member

    def member(self, index: int) -> int:
        """The member the coordinator means by ``index``."""
        return index

    def members(self) -> int:
        """Member ids handed out so far (``0..members-1``)."""
        return int(self.client.get(self.keys.members) or 0)

    def external(self, members: int) -> list[int]:
        """The member ids of external workers (they send heartbeats)."""
        return list(range(self.local, members))

    def expected(self) -> set[int]:
        """Every member that must report ``done`` (or be dead) at the end."""
        return set(range(self.coordinator.workers))

    # -- the coordinator's callables ----------------------------------------------
    def in_flight(self) -> int:
        value = int(self.client.get(self.keys.in_flight) or 0)
        if value == 0 and self.sources_done and not self.sealed:
            # The coordinator is about to close PEs: from now on no worker
            # may join, and every member takes part.
            self.sealed = True
            self.on_sealed(self.driver.session.seal())
        return value

    def on_sealed(self, members: int) -> None:
        """Every member takes part in closing, but those without a heartbeat
        (dead: gone from the coordinator)."""
        self.coordinator.workers = members
        for member in self.external(members):
            if not self.client.exists(self.keys.heartbeat(member)):
                self.dead.add(member)
                self.coordinator.leave(self.index(member))

    def completed(self) -> int:
        return int(self.client.get(self.keys.completed) or 0)

    def task_time(self) -> tuple[float, float]:
        """Seconds workers spent on tasks so far, and their CPU-seconds."""
        seconds, cpu = self.client.hmget(self.keys.task_time, ["s", "c"])
        return float(seconds or 0.0), float(cpu or 0.0)

    def send(self, index: int, command: tuple[str, str, Any]) -> None:
        member = self.member(index)
        if member in self.dead:
            return  # (died after the coordinator addressed it: it is told next)
        self.client.xadd(
            self.keys.commands(member), {"d": self.driver.codec.encode_pickle(command)}
        )

    # -- the loop ---------------------------------------------------------------
    def finished(self) -> bool:
        if not self.coordinator.stopping:
            return False
        return all(m in self.sink.finished or m in self.dead for m in self.expected())

    def run(self) -> None:
        while not self.finished():
            self.coordinator.on_tick()
            for report in self.driver.receive(self.block_ms):
                self._coordinate(*report)
            self._check_workers()

    def _coordinate(self, kind: Report, member: int, payload: Any) -> None:
        if member in self.dead:
            return  # a late word from a worker given up on (its tasks went to others)
        if member == SOURCE:
            self.sources_done = self.sources_done or kind is Report.DONE
        self.coordinator.on_report(kind, self.index(member), payload)

    def _check_workers(self) -> None:
        lost = self.driver.lost({*self.sink.finished, *self.dead})
        if lost is not None:
            member, how = lost
            if member == SOURCE:
                raise self.sink.lost(member, how)
            self.lose(member, how)
        now = time.monotonic()
        if now >= self._next_beat_check:
            self._next_beat_check = now + self.beat_check
            members = self.members()
            self.on_members(members)
            for member in self.external(members):
                if (
                    member not in self.dead
                    and member not in self.sink.finished
                    and not self.client.exists(self.keys.heartbeat(member))
                ):
                    self.lose(member, "stopped sending heartbeats")
            if not self.local:
                self._await_workers(members, now)

    beat_check = BEAT_CHECK

    def on_members(self, members: int) -> None:
        """Called with the member count at every heartbeat check."""

    def _await_workers(self, members: int, now: float) -> None:
        """A run with external workers only: while none is alive (none
        joined yet, or every one died), wait ``wait_workers`` seconds for
        one to join, then fail; once sealed, no one can join any more."""
        if members > len(self.dead) or (self.sealed and not members):
            self._alone_since = now
            return
        run_id = self.keys.run_id
        if self.sealed:
            raise RunError(f"every worker of run {run_id} died")
        if now - self._alone_since < self.wait_workers:
            return
        after = " after its last worker died" if members else ""
        raise ServiceUnavailableError(
            f"no worker joined run {run_id}{after} within {self.wait_workers:g} s "
            "(--wait-workers): "
            f"start workers with 'd4p worker redis --redis-url URL --run {run_id}', "
            "or give --workers N for local ones"
        )

    def lose(self, member: int, how: str) -> None:
        """A worker died: the tasks it held go back to the task stream at
        once (any worker takes them next), and the coordinator no longer
        counts on it."""
        self.driver.lease.verify()  # a worker that found the run gone is no lost worker
        if member in self.owners:
            raise self.sink.lost(member, how)  # its pinned instances' state is gone
        self.dead.add(member)
        workers = max(self.local, self.coordinator.workers)
        if self.local and all(m in self.dead for m in range(workers)):
            raise RunError(f"every worker died (the last one {how})")
        self.driver.session.hand_back(member, died=True)
        self.coordinator.leave(self.index(member))
