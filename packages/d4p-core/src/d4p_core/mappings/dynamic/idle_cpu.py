"""How much of the machine's processors went unused: what tells an
autoscaling policy whether one more worker process could run at all.

A worker beyond the cores speeds a run up only if the cores have time to
spare — its tasks wait on I/O, a remote service, a disk. When the cores are
busy (a CPU-bound workload, or other programs on a shared machine), another
process only takes turns with the ones already running. Read once per policy
interval, never per item.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["IdleCpuClock", "read_proc_stat"]

_USER_HZ = 100  # the unit of /proc/stat on every Linux architecture


def read_proc_stat(path: str = "/proc/stat") -> tuple[float, float] | None:
    """``(idle CPU-seconds, all CPU-seconds)`` since boot, summed over every
    processor (idle and I/O wait count as idle); ``None`` where the file is
    missing or unreadable (not Linux)."""
    try:
        with open(path, "rb") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 5 or fields[0] != b"cpu":
        return None
    try:
        # user nice system idle iowait irq softirq steal (guest is in user)
        ticks = [int(value) for value in fields[1:9]]
    except ValueError:
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return idle / _USER_HZ, sum(ticks) / _USER_HZ


class IdleCpuClock:
    """Idle CPU-seconds of the machine since this clock was made.

    ``seconds()`` is ``None`` when the machine does not tell (then a policy
    must not count on it). Divided by elapsed time it gives the idle
    processors, e.g. 1.5 of 2 cores idle.
    """

    def __init__(self, read: Callable[[], tuple[float, float] | None] = read_proc_stat) -> None:
        self._read = read
        first = read()
        self._start = None if first is None else first[0]

    def seconds(self) -> float | None:
        if self._start is None:
            return None
        now = self._read()
        if now is None:
            return None
        return max(0.0, now[0] - self._start)
