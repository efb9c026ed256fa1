"""Autoscaling policies for the dynamic mappings.

The coordinator asks its policy every ``interval`` seconds how many workers
should be active, given a :class:`ScalingSnapshot`. Workers are long-lived:
scaling down parks a worker (it stops taking shared work), scaling up wakes
one. Every change is recorded as a :class:`ScalingDecision`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

__all__ = ["AutoscalePolicy", "BacklogPolicy", "ScalingDecision", "ScalingSnapshot"]


@dataclass(frozen=True)
class ScalingSnapshot:
    time: float  # seconds since the run started
    in_flight: int  # batches queued or being processed
    active: int  # workers taking shared work
    completed: int  # tasks finished since the start
    min_workers: int
    max_workers: int


@dataclass(frozen=True)
class ScalingDecision:
    time: float
    in_flight: int
    active_before: int
    active_after: int
    reason: str


class AutoscalePolicy(Protocol):
    """Decides how many workers should be active."""

    interval: float

    def initial(self, min_workers: int, max_workers: int) -> int:
        """Active workers at the start."""
        ...

    def decide(self, snapshot: ScalingSnapshot) -> tuple[int, str]:
        """The wanted number of active workers and why."""
        ...


class BacklogPolicy:
    """Scale on backlog, keep a worker only if it raises throughput.

    Every ``interval`` the policy looks at the last ``window`` seconds:

    * **grow** by one when more than ``grow_above`` batches per active worker
      are waiting and the backlog did not shrink over the window, unless a
      recent probe showed that this many workers bring nothing;
    * after growing, the new size is a **probe**: once a full window has
      passed at the new size, its throughput (tasks finished per second) is
      compared with the size before; without a gain of ``min_gain`` the
      worker is parked again and the size is held as a ceiling for ``hold``
      seconds (a CPU-bound workload on two cores gains nothing from a third
      worker);
    * **shrink** by one when, over a whole window, fewer batches were in
      flight than there were active workers (someone was idle throughout);
    * ``cooldown`` seconds separate changes (hysteresis).
    """

    def __init__(
        self,
        interval: float = 0.1,
        window: float = 1.0,
        grow_above: float = 1.0,
        min_gain: float = 0.1,
        cooldown: float = 1.0,
        hold: float = 10.0,
    ) -> None:
        self.interval = interval
        self.window = window
        self.grow_above = grow_above
        self.min_gain = min_gain
        self.cooldown = cooldown
        self.hold = hold
        self._history: deque[ScalingSnapshot] = deque()
        self._last_change = float("-inf")
        self._rates: dict[int, float] = {}
        self._probe_from: int | None = None
        self._ceiling: tuple[int, float] | None = None  # (size, until)

    def initial(self, min_workers: int, max_workers: int) -> int:
        return max(min_workers, min(max_workers, (max_workers + 1) // 2))

    def _steady_rate(self, snapshot: ScalingSnapshot) -> float | None:
        """Throughput over the window, if the size did not change in it."""
        oldest = self._history[0]
        span = snapshot.time - oldest.time
        if span < self.window * 0.9 or any(s.active != snapshot.active for s in self._history):
            return None
        return (snapshot.completed - oldest.completed) / span

    def _change(self, snapshot: ScalingSnapshot, size: int, reason: str) -> tuple[int, str]:
        self._last_change = snapshot.time
        self._history.clear()
        self._history.append(snapshot)
        return size, reason

    def decide(self, snapshot: ScalingSnapshot) -> tuple[int, str]:
        history = self._history
        history.append(snapshot)
        while history and history[0].time < snapshot.time - self.window:
            history.popleft()
        active = snapshot.active
        rate = self._steady_rate(snapshot)
        if rate is not None:
            self._rates[active] = rate

        if self._probe_from is not None and rate is not None:
            before = self._probe_from
            self._probe_from = None
            previous = self._rates.get(before)
            if previous is not None and rate < previous * (1 + self.min_gain):
                self._ceiling = (before, snapshot.time + self.hold)
                return self._change(
                    snapshot,
                    before,
                    f"{active} workers finished {rate:.1f} tasks/s, {before} finished "
                    f"{previous:.1f}/s: no gain",
                )

        if snapshot.time - self._last_change < self.cooldown or self._probe_from is not None:
            return active, ""
        ceiling = snapshot.max_workers
        if self._ceiling is not None:
            size, until = self._ceiling
            if snapshot.time < until:
                ceiling = min(ceiling, size)
            else:
                self._ceiling = None
        waiting = max(0, snapshot.in_flight - active)
        oldest = history[0]
        if (
            active < ceiling
            and waiting > self.grow_above * active
            and snapshot.in_flight >= oldest.in_flight
            and rate is not None
        ):
            self._probe_from = active
            return self._change(
                snapshot, active + 1, f"backlog {waiting} > {self.grow_above:g} per active worker"
            )
        covered = snapshot.time - oldest.time >= self.window * 0.9
        peak = max(s.in_flight for s in history)
        if active > snapshot.min_workers and covered and peak < active:
            return self._change(
                snapshot, active - 1, f"at most {peak} batch(es) in flight for {self.window:g}s"
            )
        return active, ""
