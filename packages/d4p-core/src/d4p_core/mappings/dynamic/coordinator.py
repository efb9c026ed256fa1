"""The transport-agnostic coordinator of the dynamic mappings.

It knows nothing of how work moves: a backend gives it three callables —
read the in-flight count, read the finished-task count, send a command to a
worker — and feeds it the workers' reports. It decides when the run is
quiescent, closes PEs one at a time in topological order, stops the workers,
and drives the autoscaling policy. ``dyn_multi``, ``dyn_auto_multi`` and
``hybrid_multi`` use it over multiprocessing queues; a Redis or MPI backend
can use it unchanged over its own transport.

Worker protocol: a worker reports ``done`` when it stops (the source worker
when the sources are exhausted), ``closed <pe>`` after running
``postprocess`` for a close command, and ``idle`` whenever its decrement
brings the in-flight count to zero. Commands: ``("cmd", "close", pe)``,
``("cmd", "park"|"wake"|"stop", None)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ...planning.plan import Plan
from ...runtime.engine import Address
from ...runtime.result import PEMetrics
from .autoscale import AutoscalePolicy, ScalingDecision, ScalingSnapshot

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
    ) -> None:
        self.workers = workers
        self._in_flight = in_flight
        self._completed = completed
        self._send = send
        self.policy = policy
        self.min_workers = min_workers
        self.close_order = [pe for pe in plan.pe_ids if pe not in plan.sources]
        self._next_close = 0
        self._closing: str | None = None
        self._reports = 0
        self._sources_done = False
        self.stopping = False
        self.instance_metrics: list[tuple[Address, PEMetrics]] = []
        self.decisions: list[ScalingDecision] = []
        self._start = time.perf_counter()
        self.active = set(range(workers if initial is None else initial))
        self._active_since = {w: self._start for w in self.active}
        self._active_total = 0.0
        self._last_tick = self._start

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
            since = self._active_since.pop(index, None)
            if since is not None:
                self._active_total += time.perf_counter() - since

    def on_message(self, kind: str, index: int, payload: Any) -> None:
        if kind == "closed" and payload == self._closing:
            self._reports += 1
        self._advance()

    # -- exact termination -------------------------------------------------
    def _advance(self) -> None:
        if self.stopping or not self._sources_done or self._in_flight() != 0:
            return
        if self._closing is not None and self._reports < self.workers:
            return
        if self._next_close < len(self.close_order):
            self._closing = self.close_order[self._next_close]
            self._next_close += 1
            self._reports = 0
            for worker in range(self.workers):
                self._send(worker, ("cmd", "close", self._closing))
            return
        self.stopping = True
        for worker in range(self.workers):
            self._send(worker, ("cmd", "stop", None))

    # -- autoscaling --------------------------------------------------------
    def on_tick(self) -> None:
        if self.policy is None or self.stopping:
            return
        now = time.perf_counter()
        if now - self._last_tick < self.policy.interval:
            return
        self._last_tick = now
        snapshot = ScalingSnapshot(
            time=now - self._start,
            in_flight=self._in_flight(),
            active=len(self.active),
            completed=self._completed(),
            min_workers=self.min_workers,
            max_workers=self.workers,
        )
        wanted, reason = self.policy.decide(snapshot)
        wanted = max(self.min_workers, min(self.workers, wanted))
        if wanted == len(self.active):
            return
        before = len(self.active)
        while len(self.active) < wanted:
            worker = min(set(range(self.workers)) - self.active)
            self.active.add(worker)
            self._active_since[worker] = now
            self._send(worker, ("cmd", "wake", None))
        while len(self.active) > wanted:
            worker = max(self.active)
            self.active.discard(worker)
            self._active_total += now - self._active_since.pop(worker)
            self._send(worker, ("cmd", "park", None))
        self.decisions.append(
            ScalingDecision(snapshot.time, snapshot.in_flight, before, len(self.active), reason)
        )

    def worker_seconds(self) -> float:
        """Seconds workers spent active (taking shared work), summed."""
        now = time.perf_counter()
        return self._active_total + sum(now - since for since in self._active_since.values())

    def summary(self) -> dict[str, Any]:
        """What a run reports in ``RunResult.extra`` about its workers."""
        return {
            "workers": self.workers,
            "worker_seconds": self.worker_seconds(),
            "autoscaling": [vars(decision) for decision in self.decisions],
        }
