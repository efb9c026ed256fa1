"""Driver of ``dyn_redis``, ``dyn_auto_redis`` and ``hybrid_redis``.

Core's :class:`~d4p_core.DynamicCoordinator` decides when the run is
quiescent (the in-flight counter kept in Redis is zero and the sources are
done), closes PEs one at a time in topological order and stops the workers;
this module only feeds it the workers' reports and delivers its commands.
Workers may join from other machines until the sources are done; then the
membership is sealed and every member takes part in closing. A worker that
dies is taken out: its unacknowledged tasks are claimed by the others and
the coordinator's commands to it are answered on its behalf.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from d4p_core import RunError
from d4p_core.backend import DynamicCoordinator, DynamicLayout, DynamicRun, Report, RunOutcome

from ._driver import Driver, open_run
from ._join import SOURCE
from ._options import RedisOptions
from ._session import RunSpec

__all__ = ["run_dynamic"]


def run_dynamic(mapping: str, work: DynamicRun, options: RedisOptions) -> RunOutcome:
    """Run ``work`` with ``options.workers`` local workers (and any that join)."""
    local = options.workers
    if local is None:
        local = options.max_workers or options.processes or os.cpu_count() or 1
    min_workers = min(options.min_workers or 1, max(local, 1))
    layout = DynamicLayout.build(work.plan, local)
    spec = RunSpec.create(
        mapping,
        work.flat,
        work.plan,
        work.provided,
        options,
        stateless=layout.stateless,
        pinned_owner=layout.pinned_owner,
    )
    with open_run(options, _describe(layout)) as driver:
        session, keys = driver.session, driver.keys
        for stream in [keys.tasks, *(keys.instance(*a) for a in layout.pinned_instances)]:
            session.create_group(stream)
        for slot in range(local):
            session.create_group(keys.commands(slot))
        driver.client.set(keys.members, local)
        driver.client.set(keys.in_flight, 0)
        driver.publish(spec)
        policy = work.policy
        initial = policy.initial(min_workers, local) if policy and local else local
        driver.start("source", SOURCE)
        for slot in range(local):
            driver.start("worker", slot, active=slot < initial)
        loop = _Loop(driver, layout, local)
        loop.coordinator = DynamicCoordinator(
            work.plan,
            local,
            in_flight=loop.in_flight,
            completed=loop.completed,
            send=loop.send,
            policy=policy,
            min_workers=min_workers,
            initial=initial,
        )
        loop.run()
        extra = {
            **driver.extra(),
            **loop.coordinator.summary(),
            "local_workers": local,
            "dead_workers": sorted(loop.dead),
            "pinned": layout.describe(),
        }
        return RunOutcome(driver.sink.outputs, driver.sink.metrics, extra, driver.errors)


def _describe(layout: DynamicLayout) -> Callable[[int], str]:
    """How errors name a worker: the sources, or a worker and its pinned instances."""

    def describe(index: int) -> str:
        if index == SOURCE:
            return "the sources"
        pinned = [f"{pe}[{i}]" for (pe, i), owner in layout.pinned_owner.items() if owner == index]
        return f"worker {index}" + (f" (hosting {', '.join(pinned)})" if pinned else "")

    return describe


class _Loop:
    """Feeds the coordinator and stands in for workers that died."""

    coordinator: DynamicCoordinator

    def __init__(self, driver: Driver, layout: DynamicLayout, local: int) -> None:
        self.driver = driver
        self.sink = driver.sink
        self.client = driver.client
        self.keys = driver.keys
        self.local = local
        self.owners = set(layout.pinned_owner.values())
        self.dead: set[int] = set()
        self.closing: dict[int, str] = {}  # close commands not yet answered
        self.stopped: set[int] = set()
        self.sealed = False
        self.sources_done = False
        self.synthetic: deque[tuple[Report, int, Any]] = deque()
        self._next_beat_check = 0.0

    def in_flight(self) -> int:
        value = int(self.client.get(self.keys.in_flight) or 0)
        if value == 0 and self.sources_done and not self.sealed:
            # The coordinator is about to close PEs: from now on no worker
            # may join, and every member takes part.
            self.sealed = True
            workers = self.driver.session.seal()
            self.coordinator.workers = workers
            for slot in range(self.local, workers):
                if not self.client.exists(self.keys.heartbeat(slot)):
                    self.dead.add(slot)
        return value

    def completed(self) -> int:
        return int(self.client.get(self.keys.completed) or 0)

    def send(self, slot: int, command: tuple[str, str, Any]) -> None:
        _, name, argument = command
        if name == "close":
            self.closing[slot] = argument
        elif name == "stop":
            self.stopped.add(slot)
        if slot in self.dead:
            self._stand_in(slot)
            return
        self.client.xadd(self.keys.commands(slot), {"d": self.driver.codec.encode_pickle(command)})

    def _stand_in(self, slot: int) -> None:
        """Answer for a dead worker what it was asked."""
        pe = self.closing.get(slot)
        if pe is not None:
            self.synthetic.append((Report.CLOSED, slot, pe))
        if slot in self.stopped and slot not in self.sink.finished:
            self.synthetic.append((Report.DONE, slot, {}))

    def _finished(self) -> bool:
        c = self.coordinator
        return c.stopping and all(s in self.sink.finished for s in range(c.workers))

    def run(self) -> None:
        while not self._finished():
            self.coordinator.on_tick()
            for report in self.driver.receive():
                self._coordinate(*report)
            self._answer_for_the_dead()
            self._check_workers()

    def _answer_for_the_dead(self) -> None:
        while self.synthetic:
            kind, index, payload = self.synthetic.popleft()
            if self.driver.handle(kind, index, payload) is not None:
                self._coordinate(kind, index, payload)

    def _coordinate(self, kind: Report, index: int, payload: Any) -> None:
        if kind is Report.CLOSED:
            if self.closing.get(index) != payload:
                return  # the answer to a command given up on
            del self.closing[index]
        if index == SOURCE:
            self.sources_done = self.sources_done or kind is Report.DONE
            index = self.coordinator.workers  # how the coordinator numbers the sources
        self.coordinator.on_report(kind, index, payload)

    def _check_workers(self) -> None:
        lost = self.driver.lost({*self.sink.finished, *self.dead})
        if lost is not None:
            index, how = lost
            if index == SOURCE:
                raise self.sink.lost(index, how)
            self._lose(index, how)
        now = time.monotonic()
        if now >= self._next_beat_check:
            self._next_beat_check = now + 1.0
            members = int(self.client.get(self.keys.members) or 0)
            for slot in range(self.local, members):
                if (
                    slot not in self.dead
                    and slot not in self.sink.finished
                    and not self.client.exists(self.keys.heartbeat(slot))
                ):
                    self._lose(slot, "stopped sending heartbeats")

    def _lose(self, slot: int, how: str) -> None:
        if slot in self.owners:
            raise self.sink.lost(slot, how)  # its pinned instances' state is gone
        self.dead.add(slot)
        alive = [s for s in range(max(self.local, self.coordinator.workers)) if s not in self.dead]
        if self.local and not alive:
            raise RunError(f"every worker died (the last one {how})")
        self._stand_in(slot)
        self._answer_for_the_dead()
