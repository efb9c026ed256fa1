"""The transport-agnostic coordinator of the dynamic mappings.

It knows nothing of how work moves: a backend gives it three callables —
read the in-flight count, read the finished-task count, send a command to a
worker — (optionally a fourth: the seconds and CPU-seconds workers spent on
tasks so far, for the policy) and feeds it the workers' reports. It decides when the run is
quiescent, closes PEs one at a time in topological order, stops the workers,
and drives the autoscaling policy. ``dyn_multi``, ``dyn_auto_multi`` and
``hybrid_multi`` use it over multiprocessing queues; a Redis or MPI backend
can use it unchanged over its own transport.

Worker protocol: a worker reports ``done`` when it stops (the source worker
when the sources are exhausted), ``closed <pe>`` after running
``postprocess`` for a close command, and ``idle`` whenever its decrement
brings the in-flight count to zero. Commands: ``("cmd", "close", pe)``,
``("cmd", "retire"|"stop", None)``.

Without a policy every worker lives for the whole run. With one, the
coordinator is **elastic** and needs ``start`` (a callable that starts a
worker in a slot): it starts a worker process to grow and sends ``retire``
to shrink — the worker finishes the task it holds, closes its PE copies
(``postprocess``; what they write is queued and counted in flight like any
output) and reports ``done``; its slot is free again once that report
arrived. Close rounds go to the live workers only, and wait until no worker
is still retiring (its late ``postprocess`` output must reach PEs that are
still open).

An elastic backend may also have workers it did not start (``dyn_auto_redis``'s
external workers): :meth:`join` adds one under an index above the source's
(``workers``), so it counts as active, takes part in close rounds and may be
asked to retire (the newest external worker first: the backend can start
its own workers again, not those).

A backend that can carry on without a worker (Redis hands a dead worker's
tasks to the others) calls :meth:`leave`: the worker is gone — no longer
active, no part in close rounds or the stop, an answer it owed is not
awaited, and an elastic pool may start a worker in its slot again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...planning.plan import Plan
from ...runtime.engine import Address
from ...runtime.result import PEMetrics
from .autoscale import AutoscalePolicy, ScalingDecision, ScalingSnapshot
from .idle_cpu import IdleCpuClock

__all__ = ["DynamicCoordinator"]


class DynamicCoordinator:
    """Exact termination and autoscaling for ``workers`` workers plus one
    source worker (reporting with index ``workers``)."""

    def __init__(
        self,
        plan: Plan,
        workers: int,
        *,
        in_flight: Callable[[], int],
        completed: Callable[[], int],
        send: Callable[[int, tuple[str, str, Any]], None],
        policy: AutoscalePolicy | None = None,
        min_workers: int = 1,
        initial: int | None = None,
        start: Callable[[int], None] | None = None,
        task_time: Callable[[], tuple[float, float]] | None = None,
    ) -> None:
        if policy is not None and start is None:
            raise ValueError("an autoscaling policy needs start: workers are started and retired")
        self.workers = workers
        self._in_flight = in_flight
        self._completed = completed
        self._send = send
        self.policy = policy
        self.min_workers = min_workers
        self.close_order = [pe for pe in plan.pe_ids if pe not in plan.sources]
        self._next_close = 0
        self._closing: str | None = None
        self._awaiting: set[int] = set()  # workers yet to answer the close round
        self._sources_done = False
        self.stopping = False
        self.instance_metrics: list[tuple[Address, PEMetrics]] = []
        self.decisions: list[ScalingDecision] = []
        self.actions: list[dict[str, Any]] = []  # what each decision did, to which slots
        self._start = time.perf_counter()
        self.active = set(range(workers if initial is None else initial))
        self._active_since = {w: self._start for w in self.active}
        self._active_total = 0.0
        self._last_tick = self._start
        self._idle_cpu = IdleCpuClock() if policy is not None else None
        self._start_worker = start
        self._task_time = task_time
        self.retiring: set[int] = set()  # elastic: asked to retire, not done yet
        self.external: set[int] = set()  # elastic: workers that joined from outside
        self.gone: set[int] = set()  # workers that left (died): never addressed again

    @property
    def elastic(self) -> bool:
        """Whether workers are started and retired (autoscaling)."""
        return self._start_worker is not None

    def live(self) -> tuple[int, ...]:
        """The worker slots that take part in close rounds and stop."""
        if self.elastic:
            return tuple(sorted(self.active))
        return tuple(w for w in range(self.workers) if w not in self.gone)

    # -- reports from workers -----------------------------------------------
    def on_report(self, kind: str, index: int, payload: Any) -> None:
        """Every report a worker sends (after core's report sink saw it)."""
        if kind == "done":
            self.on_done(index, payload)
        elif kind in ("closed", "idle"):
            self.on_message(kind, index, payload)

    def on_done(self, index: int, metrics: dict[Address, PEMetrics]) -> None:
        self.instance_metrics.extend(metrics.items())
        if index == self.workers:
            self._sources_done = True
            self._advance()
        else:
            self._ended(index)
            if index in self.retiring:
                self.retiring.discard(index)
                self._advance()

    def _ended(self, index: int) -> None:
        since = self._active_since.pop(index, None)
        if since is not None:
            self._active_total += time.perf_counter() - since
        if index in self.external:
            self.external.discard(index)
            self.active.discard(index)

    # -- workers that come and go (elastic) --------------------------------
    def join(self, index: int) -> None:
        """A worker the backend did not start joined (``index`` > ``workers``):
        it is active at once. Not once PEs are being closed."""
        assert self.elastic and index > self.workers
        if self.stopping or self._next_close or index in self.external:
            return
        now = time.perf_counter()
        self.external.add(index)
        self.active.add(index)
        self._active_since[index] = now
        self.actions.append({"time": now - self._start, "action": "join", "slots": [index]})

    def leave(self, index: int) -> None:
        """Worker ``index`` is gone (it died): it is no longer active, takes
        no part in close rounds or the stop, and an answer it owed is not
        awaited; in an elastic pool its slot is free again."""
        known = index in self.live() or index in self.retiring
        self._ended(index)
        self.active.discard(index)
        self.retiring.discard(index)
        self._awaiting.discard(index)
        if not self.elastic:
            self.gone.add(index)
        if known:
            now = time.perf_counter() - self._start
            self.actions.append({"time": now, "action": "lost", "slots": [index]})
        self._advance()

    def on_message(self, kind: str, index: int, payload: Any) -> None:
        if kind == "closed" and payload == self._closing:
            self._awaiting.discard(index)
        self._advance()

    # -- exact termination -------------------------------------------------
    def _advance(self) -> None:
        if self.stopping or not self._sources_done or self.retiring or self._in_flight() != 0:
            return
        if self._awaiting:
            return
        if self._next_close < len(self.close_order):
            self._closing = self.close_order[self._next_close]
            self._next_close += 1
            self._awaiting = set(self.live())
            for worker in sorted(self._awaiting):
                self._send(worker, ("cmd", "close", self._closing))
            return
        self.stopping = True
        for worker in self.live():
            self._send(worker, ("cmd", "stop", None))

    # -- autoscaling --------------------------------------------------------
    def on_tick(self) -> None:
        # No change once PEs are being closed: the close rounds count on
        # the same workers from the first round to the stop.
        if self.policy is None or self.stopping or self._next_close:
            return
        now = time.perf_counter()
        if now - self._last_tick < self.policy.interval:
            return
        self._last_tick = now
        task_seconds, task_cpu = (None, None) if self._task_time is None else self._task_time()
        snapshot = ScalingSnapshot(
            time=now - self._start,
            in_flight=self._in_flight(),
            active=len(self.active),
            completed=self._completed(),
            min_workers=self.min_workers,
            max_workers=self.workers + len(self.external),
            idle_cpu_seconds=None if self._idle_cpu is None else self._idle_cpu.seconds(),
            task_seconds=task_seconds,
            task_cpu_seconds=task_cpu,
        )
        wanted, reason = self.policy.decide(snapshot)
        # A retiring worker's slot is free only once it reported done.
        free = sorted(set(range(self.workers)) - self.active - self.retiring)
        # (External workers are active but take no slot: growing starts
        # local workers in the free slots only.)
        wanted = max(self.min_workers, min(len(self.active) + len(free), wanted))
        if wanted == len(self.active):
            return
        before = len(self.active)
        changed: list[int] = []
        assert self._start_worker is not None  # a policy is elastic
        while len(self.active) < wanted:
            worker = free.pop(0)
            self.active.add(worker)
            self._active_since[worker] = now
            changed.append(worker)
            self._start_worker(worker)
        while len(self.active) > wanted:
            worker = max(self.active)
            self.active.discard(worker)
            changed.append(worker)
            # Counted active until it reports done (it may be draining).
            self.retiring.add(worker)
            self._send(worker, ("cmd", "retire", None))
        action = "start" if len(self.active) > before else "retire"
        self.decisions.append(
            ScalingDecision(snapshot.time, snapshot.in_flight, before, len(self.active), reason)
        )
        self.actions.append({"time": snapshot.time, "action": action, "slots": changed})

    def worker_seconds(self) -> float:
        """Seconds workers spent active (taking shared work, or draining
        before they retire), summed."""
        now = time.perf_counter()
        return self._active_total + sum(now - since for since in self._active_since.values())

    def summary(self) -> dict[str, Any]:
        """What a run reports in ``RunResult.extra`` about its workers."""
        return {
            "workers": self.workers,
            "worker_seconds": self.worker_seconds(),
            "autoscaling": [vars(decision) for decision in self.decisions],
            "scaling_actions": list(self.actions),
        }
