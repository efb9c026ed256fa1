"""Autoscaling policies for the dynamic mappings.

The coordinator asks its policy every ``interval`` seconds how many workers
should be active, given a :class:`ScalingSnapshot`, and applies the answer:
it starts a worker process to grow and asks one to retire (drain, close its
PE copies, exit) to shrink. Every change is recorded as a
:class:`ScalingDecision`.

A policy is anything with an ``interval`` and the two methods of
:class:`AutoscalePolicy`; the docs (``docs/mappings/dyn_auto_multi.md``)
show how to write one.
"""

from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass
from typing import Protocol

__all__ = ["AutoscalePolicy", "BacklogPolicy", "ScalingDecision", "ScalingSnapshot", "usable_cores"]

_TASK_SAMPLE = 0.01
"""Seconds of tasks run before their CPU share is trusted."""
_IDLE_SAMPLE = 0.1
"""Seconds since the last change over which idle processors are trusted."""


@dataclass(frozen=True)
class ScalingSnapshot:
    time: float  # seconds since the run started
    in_flight: int  # batches queued or being processed
    active: int  # workers taking shared work
    completed: int  # tasks finished since the start
    min_workers: int
    max_workers: int
    # CPU-seconds the machine's processors were idle since the run started
    # (all processors summed; None where the machine does not tell).
    idle_cpu_seconds: float | None = None
    # Seconds workers spent running tasks since the start, and the CPU-seconds
    # they used meanwhile (None where the mapping does not tell): tasks that
    # wait (I/O, a remote service) use little of a core each.
    task_seconds: float | None = None
    task_cpu_seconds: float | None = None


@dataclass(frozen=True)
class ScalingDecision:
    """One change of the worker count: when, how much work was in flight,
    the count before and after, and why. What was done to which worker
    slots is in ``RunResult.extra["scaling_actions"]``, one entry per
    decision."""

    time: float
    in_flight: int
    active_before: int
    active_after: int
    reason: str


class AutoscalePolicy(Protocol):
    """Decides how many workers should be active.

    ``decide`` is called every ``interval`` seconds while the run works; the
    coordinator clamps the answer to ``[min_workers, max_workers]`` and
    records a decision (with the reason) only when the count changes.
    """

    interval: float

    def initial(self, min_workers: int, max_workers: int) -> int:
        """Active workers at the start."""
        ...

    def decide(self, snapshot: ScalingSnapshot) -> tuple[int, str]:
        """The wanted number of active workers and why."""
        ...


def usable_cores() -> int:
    """CPUs this process may run on (its affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


class BacklogPolicy:
    """Grow on backlog at once, shrink on sustained idleness, keep a worker
    beyond the cores only if it raises throughput.

    * **start** with ``min_workers``;
    * **grow** as soon as more than ``grow_above`` batches per active worker
      have been waiting for ``grow_after`` seconds: straight up, in one step,
      to as many workers as the usable cores (``cores``) can keep busy —
      one per core; more while processors sit idle and the tasks so far used
      less than a core each (``task_cpu_seconds`` / ``task_seconds``, at
      least ``worker_cpu``: tasks that wait on I/O use little) — no warm-up
      (workers beyond the cores are then judged like a probe, below);
    * beyond that, workers are a **probe**: added only once a steady
      ``window`` at the current size (after ``settle`` seconds for the last
      change to take effect) measured its throughput, and retired again if
      a window at the new size does not finish ``min_gain`` more tasks per
      second; that size is then held as a ceiling for ``hold`` seconds (a
      CPU-bound workload gains nothing from more processes than cores). No
      probe while the machine's processors were idle less than
      ``probe_idle`` cores' worth over that window: with the cores busy
      (CPU-bound work, or other programs), another process could only take
      turns with the running ones. A probe adds as many workers as the idle
      processors could keep busy at the CPU each running worker uses (its
      share of the busy processors, at least ``worker_cpu``; other programs'
      load makes that share look larger, so the step errs small): one where
      the machine does not tell;
    * **shrink** when, for ``idle_after`` seconds, fewer batches were in
      flight than workers were active: the surplus (active minus that peak)
      was idle the whole time and retires in one step;
    * a kept probe is **rechecked** on every later steady window: once it no
      longer beats the size below by ``min_gain``, it retires (and the
      ceiling holds);
    * hysteresis: a shrink needs ``idle_after`` seconds without any change,
      a growth a backlog that lasted ``grow_after`` seconds, so a single
      spike neither starts nor ends a worker.
    """

    def __init__(
        self,
        interval: float = 0.05,
        window: float = 0.5,
        grow_above: float = 1.0,
        grow_after: float = 0.05,
        idle_after: float = 0.5,
        min_gain: float = 0.1,
        hold: float = 10.0,
        cores: int | None = None,
        settle: float = 0.2,
        probe_idle: float = 0.5,
        worker_cpu: float = 0.1,
        machine_cpus: int | None = None,
    ) -> None:
        self.interval = interval
        self.window = window
        self.grow_above = grow_above
        self.grow_after = grow_after
        self.idle_after = idle_after
        self.min_gain = min_gain
        self.hold = hold
        self.settle = settle
        self.probe_idle = probe_idle
        self.worker_cpu = worker_cpu
        self.machine_cpus = machine_cpus or os.cpu_count() or 1  # what /proc/stat sums
        self.cores = cores if cores is not None else usable_cores()
        self._history: deque[ScalingSnapshot] = deque()
        self._last_change = float("-inf")
        self._backlog_since: float | None = None
        self._idle_since: float | None = None  # fewer in flight than active since
        self._idle_peak = 0  # the most in flight since then
        self._rates: dict[int, float] = {}
        self._probe_from: int | None = None
        self._ceiling: tuple[int, float] | None = None  # (size, until)

    def initial(self, min_workers: int, max_workers: int) -> int:
        return max(1, min(min_workers, max_workers))

    def _window_start(self, snapshot: ScalingSnapshot) -> ScalingSnapshot | None:
        """The latest snapshot at least ``window`` old, if the size did not
        change since and ``settle`` seconds after the change are left out (a
        worker just started is still starting; the others are still catching
        up with the queue)."""
        start = None
        for past in self._history:  # cleared at every change
            if past.time > snapshot.time - self.window:
                break
            if past.time >= self._last_change + self.settle:
                start = past
        if start is None or snapshot.time <= start.time:
            return None
        return start

    def _steady_rate(self, snapshot: ScalingSnapshot) -> float | None:
        """Tasks finished per second over the steady window."""
        start = self._window_start(snapshot)
        if start is None:
            return None
        return (snapshot.completed - start.completed) / (snapshot.time - start.time)

    def _rate_since_change(self, snapshot: ScalingSnapshot) -> float:
        since = self._history[0]
        return (snapshot.completed - since.completed) / max(1e-9, snapshot.time - since.time)

    def _idle_cores(self, snapshot: ScalingSnapshot) -> float | None:
        """The machine's idle processors over the steady window (None:
        unknown)."""
        start = self._window_start(snapshot)
        if start is None or start.idle_cpu_seconds is None or snapshot.idle_cpu_seconds is None:
            return None
        return (snapshot.idle_cpu_seconds - start.idle_cpu_seconds) / (snapshot.time - start.time)

    def _feedable(self, snapshot: ScalingSnapshot) -> tuple[int, float | None]:
        """Workers the usable cores can keep busy: one per core; more while
        the machine's processors sat idle since the last change (at least
        ``probe_idle`` cores' worth) and tasks so far used less than a core
        each — as many more as that idle CPU could feed at their share (at
        least ``worker_cpu``). Both signals are needed: a task also gets less
        than a core when the cores are contended (then none is idle). Also
        returns the tasks' CPU share, when it decided."""
        seconds, cpu = snapshot.task_seconds, snapshot.task_cpu_seconds
        if seconds is None or cpu is None or seconds < _TASK_SAMPLE:
            return self.cores, None
        since = self._history[0]
        if (
            since.idle_cpu_seconds is None
            or snapshot.idle_cpu_seconds is None
            or snapshot.time - since.time < _IDLE_SAMPLE
        ):
            return self.cores, None
        idle = (snapshot.idle_cpu_seconds - since.idle_cpu_seconds) / (snapshot.time - since.time)
        if idle < self.probe_idle:
            return self.cores, None
        share = cpu / seconds
        return max(self.cores, snapshot.active + int(idle / max(self.worker_cpu, share))), share

    def _probe_step(self, active: int, idle: float | None, waiting: int, ceiling: int) -> int:
        """Workers a probe adds: as many as the idle processors could keep
        busy (at least one, at most what waits and the ceiling allow)."""
        if idle is None:
            return 1
        per_worker = max(self.worker_cpu, (self.machine_cpus - idle) / max(1, active))
        room = int(idle / per_worker)
        wanted = math.ceil(waiting / max(self.grow_above, 1e-9))
        return max(1, min(room, ceiling - active, wanted))

    def _change(self, snapshot: ScalingSnapshot, size: int, reason: str) -> tuple[int, str]:
        self._last_change = snapshot.time
        self._backlog_since = None
        self._idle_since = snapshot.time
        self._idle_peak = 0
        self._history.clear()
        self._history.append(snapshot)
        return size, reason

    def _ceiling_at(self, snapshot: ScalingSnapshot) -> int:
        ceiling = snapshot.max_workers
        if self._ceiling is not None:
            size, until = self._ceiling
            if snapshot.time < until:
                ceiling = min(ceiling, size)
            else:
                self._ceiling = None
        return ceiling

    def decide(self, snapshot: ScalingSnapshot) -> tuple[int, str]:
        history = self._history
        history.append(snapshot)
        keep = (self.window + self.settle) * 2
        while history and history[0].time < snapshot.time - keep:
            history.popleft()
        active = snapshot.active
        rate = self._steady_rate(snapshot)
        if rate is not None:
            self._rates[active] = rate

        # A probe that brought nothing is retired.
        if self._probe_from is not None:
            if rate is None:
                return active, ""
            before, self._probe_from = self._probe_from, None
            previous = self._rates.get(before)
            if previous is not None and rate < previous * (1 + self.min_gain):
                self._ceiling = (before, snapshot.time + self.hold)
                return self._change(
                    snapshot,
                    before,
                    f"probe: {active} workers finished {rate:.1f} tasks/s, {before} "
                    f"finished {previous:.1f}/s: no gain",
                )

        # A size beyond the cores stays only while it still beats the size
        # below it (a probe's gain may have been a lucky window).
        below = self._rates.get(active - 1)
        if (
            rate is not None
            and active > self.cores
            and active > snapshot.min_workers
            and below is not None
            and rate < below * (1 + self.min_gain)
        ):
            self._ceiling = (active - 1, snapshot.time + self.hold)
            return self._change(
                snapshot,
                active - 1,
                f"recheck: {active} workers finish {rate:.1f} tasks/s, {active - 1} "
                f"finished {below:.1f}/s: no gain",
            )

        waiting = max(0, snapshot.in_flight - active)
        if waiting > self.grow_above * active:
            if self._backlog_since is None:
                self._backlog_since = snapshot.time
        else:
            self._backlog_since = None
        ceiling = self._ceiling_at(snapshot)
        if (
            self._backlog_since is not None
            and snapshot.time - self._backlog_since >= self.grow_after
            and active < ceiling
        ):
            feedable, share = self._feedable(snapshot)
            fast = min(ceiling, feedable)
            if active < fast:
                wanted = min(fast, active + math.ceil(waiting / max(self.grow_above, 1e-9)))
                if wanted > self.cores:
                    # Judged like a probe once a steady window measured it;
                    # against the rate since the last change if no steady
                    # window measured the size before.
                    self._probe_from = active
                    self._rates.setdefault(active, self._rate_since_change(snapshot))
                upto = (
                    f"up to {self.cores} usable cores at once"
                    if share is None
                    else f"up to {feedable} workers at once: cores idle, and tasks using "
                    f"{share:.2f} of a core each"
                )
                return self._change(
                    snapshot,
                    wanted,
                    f"backlog: {waiting} batches waiting for {active} worker(s) ({upto})",
                )
            idle = self._idle_cores(snapshot)
            if rate is not None and (idle is None or idle >= self.probe_idle):
                step = self._probe_step(active, idle, waiting, ceiling)
                self._probe_from = active
                return self._change(
                    snapshot,
                    active + step,
                    f"backlog: {waiting} batches waiting; probing {step} worker(s) beyond "
                    f"{self.cores} cores ({rate:.1f} tasks/s now"
                    + ("" if idle is None else f", {idle:.1f} cores idle")
                    + ")",
                )

        # Shrink: the surplus was idle for idle_after seconds.
        if snapshot.in_flight >= active or self._idle_since is None:
            self._idle_since = snapshot.time if snapshot.in_flight < active else None
            self._idle_peak = snapshot.in_flight if snapshot.in_flight < active else 0
            return active, ""
        self._idle_peak = max(self._idle_peak, snapshot.in_flight)
        if active > snapshot.min_workers and snapshot.time - self._idle_since >= self.idle_after:
            peak = self._idle_peak
            return self._change(
                snapshot,
                max(snapshot.min_workers, peak),
                f"idle: at most {peak} batch(es) in flight for {self.idle_after:g}s "
                f"with {active} worker(s)",
            )
        return active, ""
