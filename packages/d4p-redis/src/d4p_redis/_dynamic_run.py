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
from typing import Any

from d4p_core import AutoscalePolicy, Inputs, PEMetrics, RunError, RunResult, WorkflowGraph
from d4p_core.backend import (
    Address,
    DynamicCoordinator,
    dynamic_plan,
    merge_metrics,
    resolve_inputs,
)

from ._driver import Driver, graph_payload, open_run
from ._join import SOURCE
from ._options import RedisOptions
from ._session import RunSpec, fingerprint

__all__ = ["run_dynamic"]


def run_dynamic(
    mapping: str,
    graph: WorkflowGraph,
    inputs: Inputs,
    options: RedisOptions,
    *,
    pinned: bool,
    autoscale: AutoscalePolicy | None,
) -> RunResult:
    started = time.perf_counter()
    plan = dynamic_plan(graph, mapping, pinned=pinned)
    flat = graph.flat()
    provided = resolve_inputs(flat, inputs, plan.sources)
    local = options.workers
    if local is None:
        local = options.max_workers or options.processes or os.cpu_count() or 1
    min_workers = min(options.min_workers or 1, max(local, 1))
    stateless = tuple(
        pe for pe in plan.pe_ids if pe not in plan.sources and pe not in plan.stateful
    )
    pinned_instances = [
        (pe, i)
        for pe in plan.pe_ids
        if pe in plan.stateful and pe not in plan.sources
        for i in range(plan.instances[pe])
    ]
    owner_slots = max(1, local)
    pinned_owner: dict[Address, int] = {a: n % owner_slots for n, a in enumerate(pinned_instances)}
    pes = flat.by_id()
    spec = RunSpec(
        mapping=mapping,
        kind="dynamic",
        plan=plan,
        payload=graph_payload(pes),
        fingerprint=fingerprint(pes, plan),
        serializer=options.serializer,
        batch_size=options.batch_size or 64,
        read_count=options.read_count,
        spill_above=options.spill_above,
        backlog=options.backlog,
        claim_idle=options.claim_idle,
        on_error=options.on_error,
        max_attempts=options.max_attempts,
        stateless=stateless,
        pinned_owner=pinned_owner,
        provided=provided,
    )
    with open_run(options) as driver:
        session, keys = driver.session, driver.keys
        for stream in [keys.tasks, *(keys.instance(*a) for a in pinned_instances)]:
            session.create_group(stream)
        for slot in range(local):
            session.create_group(keys.commands(slot))
        driver.client.set(keys.members, local)
        driver.client.set(keys.in_flight, 0)
        driver.publish(spec)
        initial = autoscale.initial(min_workers, local) if autoscale and local else local
        driver.start("source", SOURCE)
        for slot in range(local):
            driver.start("worker", slot, active=slot < initial)
        loop = _Loop(driver, plan_owner=pinned_owner, local=local)
        loop.coordinator = DynamicCoordinator(
            plan,
            local,
            in_flight=loop.in_flight,
            completed=loop.completed,
            send=loop.send,
            policy=autoscale,
            min_workers=min_workers,
            initial=initial,
        )
        loop.run()
        coordinator = loop.coordinator
        outputs, errors, rejected = driver.outputs, driver.errors, driver.rejected
        run_id = keys.run_id
    per_instance = coordinator.instance_metrics
    by_instance: dict[str, dict[int, PEMetrics]] = {}
    for (pe_id, _), metrics in per_instance:
        copies = by_instance.setdefault(pe_id, {})
        copies[len(copies)] = metrics
    return RunResult(
        mapping=mapping,
        outputs=outputs,
        metrics=merge_metrics({pe: m} for (pe, _), m in per_instance),
        instance_metrics=by_instance,
        elapsed_seconds=time.perf_counter() - started,
        errors=errors,
        extra={
            "run_id": run_id,
            "workers": coordinator.workers,
            "local_workers": local,
            "dead_workers": sorted(loop.dead),
            "rejected_messages": rejected,
            "worker_seconds": coordinator.worker_seconds(),
            "autoscaling": [vars(d) for d in coordinator.decisions],
            "pinned": {f"{pe}[{i}]": owner for (pe, i), owner in pinned_owner.items()},
        },
    )


class _Loop:
    """Feeds the coordinator and stands in for workers that died."""

    coordinator: DynamicCoordinator

    def __init__(self, driver: Driver, plan_owner: dict[Address, int], local: int) -> None:
        self.driver = driver
        self.client = driver.client
        self.keys = driver.keys
        self.local = local
        self.owners = set(plan_owner.values())
        self.dead: set[int] = set()
        self.done: set[int] = set()
        self.closing: dict[int, str] = {}  # close commands not yet answered
        self.stopped: set[int] = set()
        self.sealed = False
        self.sources_done = False
        self.synthetic: deque[tuple[str, int, Any]] = deque()
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
            self.synthetic.append(("closed", slot, pe))
        if slot in self.stopped and slot not in self.done:
            self.synthetic.append(("done", slot, {}))

    def _finished(self) -> bool:
        c = self.coordinator
        return c.stopping and all(s in self.done for s in range(c.workers))

    def run(self) -> None:
        coordinator = self.coordinator
        while not self._finished():
            coordinator.on_tick()
            for kind, index, payload in self.driver.reports():
                self._dispatch(kind, index, payload)
            while self.synthetic:
                self._dispatch(*self.synthetic.popleft())
            self._check_workers()

    def _dispatch(self, kind: str, index: int, payload: Any) -> None:
        coordinator = self.coordinator
        if kind == "done":
            if index == -1:
                self.sources_done = True
                coordinator.on_done(coordinator.workers, payload)
                return
            if index in self.done:
                return
            self.done.add(index)
            coordinator.on_done(index, payload)
        elif kind == "closed":
            if self.closing.get(index) != payload:
                return
            del self.closing[index]
            coordinator.on_message(kind, index, payload)
        elif kind == "refused":
            self.dead.add(index)
        else:
            coordinator.on_message(kind, index, payload)

    def _check_workers(self) -> None:
        for index, how in self.driver.dead_processes():
            if index in self.done:
                continue
            if index == -1:
                raise RunError(f"the source process {how} before finishing")
            self._lose(index, how)
        now = time.monotonic()
        if now >= self._next_beat_check:
            self._next_beat_check = now + 1.0
            members = int(self.client.get(self.keys.members) or 0)
            for slot in range(self.local, members):
                if (
                    slot not in self.dead
                    and slot not in self.done
                    and not self.client.exists(self.keys.heartbeat(slot))
                ):
                    self._lose(slot, "stopped sending heartbeats")

    def _lose(self, slot: int, how: str) -> None:
        if slot in self.owners:
            raise RunError(f"worker {slot}, which hosts pinned stateful instances, {how}")
        self.dead.add(slot)
        alive = [s for s in range(max(self.local, self.coordinator.workers)) if s not in self.dead]
        if self.local and not alive:
            raise RunError(f"every worker died (the last one {how})")
        self._stand_in(slot)
        while self.synthetic:
            self._dispatch(*self.synthetic.popleft())
