"""Local worker processes under core's supervision
(:mod:`d4p_core.runtime.supervision`): :class:`WorkerGroup` starts them,
with a shared abort event and a control queue, and ``multi``'s transport:
bounded queues that give up when the run is aborted, the control queue
carrying every worker's reports. (The dynamic mappings use the group for
their processes, and the driver's task broker for everything else:
:mod:`d4p_core.mappings.dynamic.broker`.)

``multi``'s parent ends the run exactly when every worker reported ``done``.
A PE failure, a crash or a worker killed from outside sets the shared abort
event, and every child is stopped before the parent raises — nothing is left
running.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import multiprocessing.queues
import queue
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..runtime.engine import PEFailure
from ..runtime.lifetime import parent_gone
from ..runtime.supervision import Aborted, BatchingReporter, LocalProcesses, Report, ReportSink

__all__ = [
    "Aborted",
    "WorkerGroup",
    "blocking_get",
    "blocking_put",
    "guarded_worker",
    "queue_reporter",
    "should_stop",
]

_POLL = 0.2  # seconds between checks for an abort while blocked (failures only)


def should_stop(abort: Any) -> bool:
    """True when the run was aborted or the parent process is gone (a worker
    must never outlive its run, even if the parent was killed)."""
    return abort.is_set() or parent_gone()


def blocking_put(target: multiprocessing.queues.Queue[Any], item: Any, abort: Any) -> None:
    """``put`` that waits for room (back-pressure) but gives up on abort.

    Checked on every batch, not only when blocked: an orphaned producer
    that never waits must still stop."""
    if should_stop(abort):
        raise Aborted
    while True:
        try:
            target.put(item, timeout=_POLL)
            return
        except queue.Full:
            if should_stop(abort):
                raise Aborted from None


def blocking_get(source: multiprocessing.queues.Queue[Any], abort: Any) -> Any:
    """``get`` that waits for an item but gives up on abort."""
    if should_stop(abort):
        raise Aborted
    while True:
        try:
            return source.get(timeout=_POLL)
        except queue.Empty:
            if should_stop(abort):
                raise Aborted from None


def queue_reporter(
    control: multiprocessing.queues.Queue[Any], index: int, abort: Any
) -> BatchingReporter:
    """A worker's reporter over the control queue."""

    def send(kind: Report, payload: Any) -> None:
        blocking_put(control, (kind, index, payload), abort)

    return BatchingReporter(send)


def guarded_worker(
    reporter: BatchingReporter,
    queues: Iterable[multiprocessing.queues.Queue[Any]],
    control: multiprocessing.queues.Queue[Any],
    body: Callable[[], None],
) -> None:
    """Run a worker's body and report how it ended: a PE failure, an abort
    (quietly) or a crash. Never block process exit on unread queue data."""
    queues = list(queues)
    try:
        body()
    except PEFailure as failure:
        _quiet_exit(queues)  # the control queue still delivers the report
        with contextlib.suppress(Aborted):
            reporter.failed(failure.info)
    except Aborted:
        # Nobody reads anything any more, results included.
        _quiet_exit([*queues, control])
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        _quiet_exit(queues)
        reporter.crashed(exc)


def _quiet_exit(queues: Iterable[multiprocessing.queues.Queue[Any]]) -> None:
    for q in queues:
        q.cancel_join_thread()


class WorkerGroup:
    """Worker processes of one run under core's supervision, identified by
    report id (their start order).

    A process may be started at any time (:meth:`start`; an autoscaler grows
    the pool) and may end before the run does (a retired worker reports
    ``done``, then exits). A worker *slot* may be reused by a later process,
    whose reports must not be confused with its predecessor's: so each
    process gets its own report id. ``target(report_id, *args, control,
    abort)`` runs in each; ``describe(slot)`` names a slot's process in
    error messages.
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
        self.sink = ReportSink(lambda report_id: describe(self.slot_of[report_id]))
        self.processes = LocalProcesses(context)
        self._target = target
        self._closed = False

    def start(self, slot: int, *args: Any) -> int:
        """Start a process for ``slot``; return its report id."""
        report_id = len(self.slot_of)
        self.slot_of.append(slot)
        index = self.processes.start(
            self._target, report_id, *args, self.control, self.abort, name=f"d4p-worker-{slot}"
        )
        assert index == report_id
        return report_id

    def run(
        self,
        finished: Callable[[], bool] = lambda: True,
        on_report: Callable[[Report, int, Any], None] | None = None,
        on_tick: Callable[[], None] | None = None,
        poll: float = _POLL,
    ) -> None:
        """Supervise until ``finished()`` and every started process reported
        ``done``; every report goes to :attr:`sink`, then to ``on_report(kind,
        slot, payload)``. Raise RunError on any failure (all processes stopped)."""
        sink = self.sink
        try:
            next_check = time.monotonic() + _POLL
            while not (finished() and len(sink.finished) == len(self.slot_of)):
                if on_tick is not None:
                    on_tick()
                if time.monotonic() >= next_check:
                    # Also while reports keep coming: a dead worker must be
                    # noticed even if the others are busy talking.
                    lost = self.processes.lost(sink.finished)
                    if lost is not None:
                        raise sink.lost(*lost)
                    next_check = time.monotonic() + _POLL
                try:
                    kind, report_id, payload = self.control.get(timeout=poll)
                except queue.Empty:
                    continue
                kind = sink.handle(kind, report_id, payload)
                if on_report is not None:
                    on_report(kind, self.slot_of[report_id], payload)
        except BaseException:
            self.abort_all()
            raise
        self.stop()

    def stop(self) -> None:
        """End a run that finished: every process gets its grace to exit."""
        self.processes.stop(graceful=True)
        self._close()

    def abort_all(self) -> None:
        """Stop every process at once (a failure before or during the run)."""
        self.abort.set()
        self.processes.stop(graceful=False)
        self._close()

    def send(self, target: multiprocessing.queues.Queue[Any], message: Any) -> None:
        """Send a command to a worker (gives up if the run is aborted)."""
        blocking_put(target, message, self.abort)

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self.control.close()
            self.control.cancel_join_thread()
