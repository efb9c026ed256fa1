"""An autoscaling policy for tests of elastic mappings (any backend)."""

from __future__ import annotations

from ..mappings.dynamic.autoscale import ScalingSnapshot

__all__ = ["ScriptedPolicy"]


class ScriptedPolicy:
    """A custom policy (the ``AutoscalePolicy`` protocol): ``bulk`` workers
    from the first tick, one once ``shrink_after`` tasks have finished.
    Driven by progress, not by time, so a test asserting what it did cannot
    depend on the machine's speed. Every snapshot it saw is kept."""

    interval = 0.05

    def __init__(self, shrink_after: int, bulk: int = 3) -> None:
        self.shrink_after, self.bulk = shrink_after, bulk
        self.snapshots: list[ScalingSnapshot] = []

    def initial(self, min_workers: int, max_workers: int) -> int:
        return min_workers

    def decide(self, snapshot: ScalingSnapshot) -> tuple[int, str]:
        self.snapshots.append(snapshot)
        if snapshot.completed >= self.shrink_after:
            return 1, "scripted: the work is nearly done"
        return self.bulk, f"scripted: {self.bulk} workers for the bulk"
