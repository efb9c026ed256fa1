"""The local dynamic mappings' process group: worker processes that may be
started at any time during the run (an autoscaler grows the pool) and that
may end before it (a retired worker reports ``done``, then exits).

Like ``multi``'s worker group it runs every process under core's
supervision (:class:`~d4p_core.runtime.supervision.LocalProcesses`): a
failure, a crash or a worker killed from outside aborts the run and stops
every process before the error is raised. What differs: each process gets
its own report id (a worker *slot* may be reused by a later process, whose
reports must not be confused with its predecessor's), and the run ends when
the coordinator says so and every started process reported ``done`` — not
when a fixed number of processes did.
"""

from __future__ import annotations

import multiprocessing.context
import multiprocessing.queues
import queue
import time
from collections.abc import Callable
from typing import Any

from ...runtime.supervision import LocalProcesses, Report, ReportSink
from .._workers import blocking_put

__all__ = ["ElasticGroup"]

_CHECK = 0.2  # seconds between liveness checks


class ElasticGroup:
    """Worker processes of one run, identified by report id (start order).

    ``target(*args, control, abort)`` runs in each; ``describe(slot)`` names
    the process of a slot in error messages.
    """

    def __init__(
        self,
        context: multiprocessing.context.BaseContext,
        target: Callable[..., None],
        describe: Callable[[int], str],
    ) -> None:
        self.control: multiprocessing.queues.Queue[Any] = context.Queue()
        self.abort = context.Event()
        self.slot_of: list[int] = []  # report id -> slot
        self.sink = ReportSink(lambda pid: describe(self.slot_of[pid]))
        self._target = target
        self.processes = LocalProcesses(context)

    def start(self, slot: int, *args: Any) -> int:
        """Start a process for ``slot``; return its report id."""
        pid = len(self.slot_of)
        self.slot_of.append(slot)
        index = self.processes.start(
            self._target, pid, *args, self.control, self.abort, name=f"d4p-worker-{slot}"
        )
        assert index == pid
        return pid

    def run(
        self,
        finished: Callable[[], bool],
        on_report: Callable[[Report, int, Any], None],
        on_tick: Callable[[], None],
        poll: float,
    ) -> None:
        """Supervise until ``finished()`` and every started process reported
        ``done``; reports reach :attr:`sink`, then ``on_report(kind, slot,
        payload)``. Raise RunError on any failure (all processes stopped)."""
        sink = self.sink
        try:
            next_check = time.monotonic() + _CHECK
            while not (finished() and len(sink.finished) == len(self.slot_of)):
                on_tick()
                if time.monotonic() >= next_check:
                    lost = self.processes.lost(sink.finished)
                    if lost is not None:
                        raise sink.lost(*lost)
                    next_check = time.monotonic() + _CHECK
                try:
                    kind, pid, payload = self.control.get(timeout=poll)
                except queue.Empty:
                    continue
                kind = sink.handle(kind, pid, payload)
                on_report(kind, self.slot_of[pid], payload)
        except BaseException:
            self.abort.set()
            self.processes.stop(graceful=False)
            self._close()
            raise
        self.processes.stop(graceful=True)
        self._close()

    def send(self, target: multiprocessing.queues.Queue[Any], message: Any) -> None:
        """Send a command to a worker (gives up if the run is aborted)."""
        blocking_put(target, message, self.abort)

    def _close(self) -> None:
        self.control.close()
        self.control.cancel_join_thread()
