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
    """Scale on the backlog over a time window, with hysteresis and cool-down.

    * grow by one when more than ``grow_above`` batches per active worker
      are waiting and the backlog did not shrink over the window;
    * shrink by one when, over the whole window, fewer batches were in
      flight than there are active workers (someone was idle throughout),
      and nothing changed during the last ``cooldown`` seconds.
    """

    def __init__(
        self,
        interval: float = 0.1,
        window: float = 1.0,
        grow_above: float = 1.0,
        cooldown: float = 1.0,
    ) -> None:
        self.interval = interval
        self.window = window
        self.grow_above = grow_above
        self.cooldown = cooldown
        self._history: deque[ScalingSnapshot] = deque()
        self._last_change = float("-inf")

    def initial(self, min_workers: int, max_workers: int) -> int:
        return max(min_workers, min(max_workers, (max_workers + 1) // 2))

    def decide(self, snapshot: ScalingSnapshot) -> tuple[int, str]:
        history = self._history
        history.append(snapshot)
        while history and history[0].time < snapshot.time - self.window:
            history.popleft()
        active = snapshot.active
        waiting = max(0, snapshot.in_flight - active)
        oldest = history[0]
        if (
            active < snapshot.max_workers
            and waiting > self.grow_above * active
            and snapshot.in_flight >= oldest.in_flight
        ):
            self._last_change = snapshot.time
            return active + 1, f"backlog {waiting} > {self.grow_above:g} per active worker"
        covered = snapshot.time - oldest.time >= self.window * 0.9
        peak = max(s.in_flight for s in history)
        if (
            active > snapshot.min_workers
            and covered
            and peak < active
            and snapshot.time - self._last_change >= self.cooldown
        ):
            self._last_change = snapshot.time
            return active - 1, f"at most {peak} batch(es) in flight for {self.window:g}s"
        return active, ""
