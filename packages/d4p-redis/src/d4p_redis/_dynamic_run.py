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
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from d4p_core import RunError, ServiceUnavailableError
from d4p_core.backend import DynamicCoordinator, DynamicLayout, DynamicRun, Report, RunOutcome

from ._driver import Driver, open_run
from ._join import SOURCE
from ._options import RedisOptions
from ._server import safe_url
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
        # One local worker holds the only copies, unless workers may join
        # (--workers 0): then copies are expected.
        state_copies=layout.stateless if local != 1 else (),
        pinned_owner=layout.pinned_owner,
    )
    with open_run(options, _describe(layout)) as driver:
        keys = driver.keys
        pinned = layout.pinned_instances
        driver.lease.create(
            [keys.tasks, *(keys.instance(*a) for a in pinned)]
            + [keys.commands(slot) for slot in range(local)],
            {keys.members: local, keys.in_flight: 0, keys.completed: 0},
        )
        driver.publish(spec, pinned)
        if not local:
            _invite(driver, options)
        policy = work.policy
        initial = policy.initial(min_workers, local) if policy and local else local
        driver.start("source", SOURCE)
        for slot in range(local):
            driver.start("worker", slot, active=slot < initial)
        loop = _Loop(driver, layout, local, options.wait_workers)
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


def _invite(driver: Driver, options: RedisOptions) -> None:
    """With --workers 0, say on stderr how to start the workers the run waits for."""
    key = " --auth-key KEY" if driver.codec.auth_key else ""
    print(
        f"d4p: run {driver.keys.run_id} waits up to {options.wait_workers:g} s for workers: "
        f"d4p worker redis --redis-url {safe_url(driver.url)} --run {driver.keys.run_id}{key}",
        file=sys.stderr,
    )


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

    def __init__(
        self, driver: Driver, layout: DynamicLayout, local: int, wait_workers: float
    ) -> None:
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
        self.wait_workers = wait_workers
        self._alone_since = time.monotonic()  # no live worker since (external workers only)

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
            if not self.local:
                self._await_workers(members, now)

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

    def _lose(self, slot: int, how: str) -> None:
        self.driver.lease.verify()  # a worker that found the run gone is no lost worker
        if slot in self.owners:
            raise self.sink.lost(slot, how)  # its pinned instances' state is gone
        self.dead.add(slot)
        alive = [s for s in range(max(self.local, self.coordinator.workers)) if s not in self.dead]
        if self.local and not alive:
            raise RunError(f"every worker died (the last one {how})")
        self._stand_in(slot)
        self._answer_for_the_dead()
