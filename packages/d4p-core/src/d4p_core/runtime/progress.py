"""Live progress of a run, for front ends (the ``d4p`` command's status line).

A front end registers a listener before calling :func:`d4p_core.run`; while
the run goes on, the mapping calls it about twice a second (and once at the
end) with the number of ``process`` calls so far per PE, summed over all
instances and processes. Nothing is measured or sent when no one listens.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["PROGRESS_INTERVAL", "ProgressListener", "progress_listener", "set_progress_listener"]

ProgressListener = Callable[[dict[str, int]], None]

PROGRESS_INTERVAL = 0.5  # seconds between reports

_listener: ProgressListener | None = None


def set_progress_listener(listener: ProgressListener | None) -> None:
    """Receive ``{pe_id: calls so far}`` while runs in this process go on."""
    global _listener
    _listener = listener


def progress_listener() -> ProgressListener | None:
    """The registered listener, if any (what mappings call)."""
    return _listener


class ProgressTotals:
    """Sums the latest counts reported by each worker."""

    def __init__(self, listener: ProgressListener) -> None:
        self._listener = listener
        self._by_worker: dict[int, dict[str, int]] = {}

    def update(self, worker: int, counts: dict[str, int]) -> None:
        self._by_worker[worker] = counts
        total: dict[str, int] = {}
        for part in self._by_worker.values():
            for pe_id, calls in part.items():
                total[pe_id] = total.get(pe_id, 0) + calls
        self._listener(total)
