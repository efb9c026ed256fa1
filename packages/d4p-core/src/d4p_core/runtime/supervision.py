"""Supervision every mapping shares: one report protocol, one driver-side
report sink, one worker-side batching reporter, one local-process policy and
one wording for every way a worker can end badly.

A worker reports to its driver with :class:`Report` kinds: ``results`` (a
batch of ``(pe_id, output, value)``), ``progress`` (calls so far per PE),
``done`` (its instances' metrics), ``failed`` (a PE raised: a
:class:`~d4p_core.backend.FailureInfo`) and ``crashed`` (the worker itself
broke: :func:`crash_text`); whatever watches a worker process from outside
may report it ``lost`` (how it ended, from :func:`exit_description`). How a
report travels is the backend's (a
multiprocessing queue, a ZeroMQ socket, a Redis stream, Storm's multilang
pipe); what it means is decided here, in :class:`ReportSink`.

:class:`LocalProcesses` starts worker processes on this machine, tied to the
starting process (they die with it), notices one that ended without
reporting ``done``, and stops them all with one escalation: wait a grace
period, terminate, kill.
"""

from __future__ import annotations

import contextlib
import enum
import multiprocessing.context
import multiprocessing.process
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Container, Iterator
from typing import Any

from ..errors import D4pError, RunError
from .lifetime import Lifeline, die_with_parent, parent_token
from .pe_output import send_pe_prints_to_stderr
from .progress import ProgressTotals, progress_listener
from .result import FailureInfo, Outputs, PEMetrics
from .streaming import result_callback
from .transport import Address

__all__ = [
    "ABORT_GRACE",
    "EXIT_GRACE_CHECKS",
    "RESULTS_PER_REPORT",
    "STOP_GRACE",
    "Aborted",
    "BatchingReporter",
    "LocalProcesses",
    "Report",
    "ReportSink",
    "crash_text",
    "exit_description",
    "run_worker_command",
    "task_kills_workers",
    "worker_crashed",
    "worker_lost",
    "workers_die_holding_nothing",
]

RESULTS_PER_REPORT = 1024
"""Results a worker buffers before it sends them (and before any wait)."""

STOP_GRACE = 30.0
"""Seconds workers that reported ``done`` get to exit before they are killed."""

ABORT_GRACE = 2.0
"""Seconds workers of an aborted run get to stop before they are terminated
(and, :data:`TERMINATE_GRACE` later, killed)."""

TERMINATE_GRACE = 3.0

EXIT_GRACE_CHECKS = 25
"""Liveness checks a worker that exited cleanly (status 0) without reporting
``done`` gets, for its last reports to arrive, before it counts as lost."""


class Aborted(BaseException):
    """The run was aborted (another worker failed, or the driver is gone);
    stop quietly.

    A BaseException, so that the engine never mistakes it for a PE failure
    when it interrupts a send made inside a PE call.
    """


class Report(str, enum.Enum):
    """The kinds of report a worker sends its driver."""

    RESULTS = "results"
    PROGRESS = "progress"
    DONE = "done"
    FAILED = "failed"
    CRASHED = "crashed"
    CLOSED = "closed"
    """A dynamic worker ran ``postprocess`` of the PE being closed."""
    IDLE = "idle"
    """A dynamic worker ran out of work (the coordinator may act on it)."""
    LOST = "lost"
    """A worker died; sent on its behalf by whatever watched it (payload:
    how it ended, from :func:`exit_description`)."""


def crash_text(exc: BaseException) -> str:
    """A crash report: ``Type: message`` on the first line, then the traceback."""
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{type(exc).__name__}: {exc}\n{trace}"


def exit_description(exitcode: int) -> str:
    """``"was killed by signal SIGKILL"`` or ``"exited with status 3"``."""
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return f"was killed by signal {name}"
    return f"exited with status {exitcode}"


def worker_crashed(description: str, text: str) -> RunError:
    """The error for a worker that reported a crash (``text`` from :func:`crash_text`)."""
    first = text.splitlines()[0] if text else "no details"
    return RunError(f"{description} crashed: {first}", remote_traceback=text)


def task_kills_workers(
    address: Address, deaths: int, max_deaths: int, how: str | None = None
) -> FailureInfo:
    """The failure of a task that ``deaths`` worker processes died holding
    (``how``: how the last one ended, where known): it is not run again."""
    last = "" if how is None else f"the last one {how}: "
    return FailureInfo(
        address[0],
        address[1],
        "process",
        None,
        f"{deaths} worker process{'' if deaths == 1 else 'es'} died holding this task "
        f"({last}killed, out of memory, or a crash in native code); it is not run "
        f"again (max_deaths={max_deaths})",
        "",
    )


def workers_die_holding_nothing(deaths: int, how: str) -> RunError:
    """The error for worker processes that keep dying before they hold any
    task (a PE that kills its process at start): a new one would die too."""
    return RunError(
        f"{deaths} worker processes died holding no task (the last one {how}): "
        "a new worker would die too"
    )


def worker_lost(description: str, how: str) -> RunError:
    """The error for a worker that ended (``how``: :func:`exit_description`,
    or what the transport saw) before it finished."""
    return RunError(f"{description} {how} before finishing")


class ReportSink:
    """The driver side of the report protocol: results into ``outputs`` (or,
    as they arrive, to the run's result callback, see ``runtime.streaming``),
    ``done`` metrics into ``metrics``, progress to the listener, a failure or
    a crash raised as :class:`~d4p_core.RunError`.

    ``describe(worker)`` names a worker in error messages, for example
    ``"worker 2 (hosting a[0])"``.
    """

    def __init__(self, describe: Callable[[Any], str]) -> None:
        self.outputs: Outputs = {}
        self.metrics: list[tuple[Address, PEMetrics]] = []
        self.finished: set[Any] = set()
        self._describe = describe
        self._on_result = result_callback()
        listener = progress_listener()
        self._totals = ProgressTotals(listener) if listener is not None else None

    @property
    def wants_progress(self) -> bool:
        """Whether workers should send progress reports at all."""
        return self._totals is not None

    def handle(self, kind: Report | str, worker: Any, payload: Any) -> Report:
        """Act on one report from ``worker`` and return its kind; raise
        :class:`~d4p_core.RunError` for a failure or a crash. Kinds for a
        coordinator (``closed``) are left to the caller."""
        kind = Report(kind)
        if kind is Report.RESULTS:
            if self._on_result is not None:
                on_result = self._on_result
                for pe_id, output, value in payload:
                    on_result(pe_id, output, value)
                return kind
            outputs = self.outputs
            for pe_id, output, value in payload:
                outputs.setdefault(pe_id, {}).setdefault(output, []).append(value)
        elif kind is Report.DONE:
            self.finished.add(worker)
            if payload:
                self.metrics.extend(payload.items())
        elif kind is Report.PROGRESS:
            if self._totals is not None:
                self._totals.update(worker, payload)
        elif kind is Report.FAILED:
            assert isinstance(payload, FailureInfo)
            raise payload.to_error()
        elif kind is Report.CRASHED:
            raise worker_crashed(self._describe(worker), str(payload))
        elif kind is Report.LOST:
            raise self.lost(worker, str(payload))
        return kind

    def lost(self, worker: Any, how: str) -> RunError:
        """The error for ``worker`` having ended before it finished."""
        return worker_lost(self._describe(worker), how)


class BatchingReporter:
    """The worker side: results are buffered and sent in batches of
    :data:`RESULTS_PER_REPORT`; every other report flushes them first, so a
    driver sees results before the ``done`` that follows them.

    ``send(kind, payload)`` is the backend's way to deliver one report.
    """

    def __init__(
        self, send: Callable[[Report, Any], None], batch_size: int = RESULTS_PER_REPORT
    ) -> None:
        self._send = send
        self._batch_size = batch_size
        self._results: list[tuple[str, str, Any]] = []

    def result(self, pe_id: str, output: str, value: Any) -> None:
        self._results.append((pe_id, output, value))
        if len(self._results) >= self._batch_size:
            self.flush()

    def flush(self) -> None:
        if self._results:
            batch, self._results = self._results, []
            self._send(Report.RESULTS, batch)

    def send(self, kind: Report, payload: Any) -> None:
        self.flush()
        self._send(kind, payload)

    def progress(self, counts: dict[str, int]) -> None:
        """Report the calls so far per PE (the driver sums the workers)."""
        self._send(Report.PROGRESS, counts)

    def done(self, metrics: dict[Address, PEMetrics] | None) -> None:
        self.send(Report.DONE, metrics)

    def failed(self, info: FailureInfo) -> None:
        self.send(Report.FAILED, info)

    def crashed(self, exc: BaseException) -> None:
        """Report a crash; if even that fails, the driver still sees the exit."""
        with contextlib.suppress(Exception):
            self._results.clear()
            self._send(Report.CRASHED, crash_text(exc))


def _tied_to_parent(parent: Any, target: Callable[..., None], *args: Any) -> None:
    # Ctrl-C reaches the terminal's whole process group: the driver alone
    # handles it and stops the workers, so none prints a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the driver's SIGTERM handler (signals.py); it
    # must die of SIGTERM (its parent-death signal) even inside a C call.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # blocked by LocalProcesses.start
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
    send_pe_prints_to_stderr()  # stdout carries results only
    die_with_parent(parent)
    target(*args)


_HELD = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while a worker starts. The driver's
    handlers raise (``KeyboardInterrupt``, ``SystemExit``), and raised inside
    ``fork``'s at-fork callbacks (``logging``'s, ``random``'s, in the parent
    or the child) the exception is printed and lost: the run would go on.
    Held, they arrive in the driver right after the start, and the child
    inherits them blocked (across exec too) until it has set its own
    dispositions (``_tied_to_parent``)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def _main_without_a_missing_file() -> Iterator[None]:
    """Hide a ``__main__.__file__`` that names no file (``python - < wf.py``
    sets ``'<stdin>'``) while a process starts: ``spawn`` and ``forkserver``
    would re-run that "script" in the child and fail. The PEs travel by value
    in that case (``GraphPayload``), so the child needs no ``__main__``."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not isinstance(path, str) or os.path.isfile(path):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


class LocalProcesses:
    """Worker processes on this machine, supervised with one policy.

    Every process runs ``die_with_parent`` first, so none outlives the
    starting process, even one killed with SIGKILL. :meth:`lost` names a
    worker that ended without finishing (one that reported ``done`` first,
    such as a worker an autoscaler retired, ended as expected); :meth:`stop`
    ends them all. Processes are not daemonic, so a PE may start processes
    of its own. Processes may be started at any time, and
    :meth:`process_seconds` sums their lifetimes: the cost of a run in
    processes kept alive, comparable across mappings.
    """

    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        self._context = context
        self._parent = parent_token(context)
        # Under forkserver the workers' parent is the fork server: they are
        # tied to this process by a lifeline instead (made at the first start).
        self._forkserver = context.get_start_method() == "forkserver"
        self._lifeline: Lifeline | None = None
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self._quiet_checks: dict[int, int] = {}
        self._started: list[float] = []
        self._ended: dict[int, float] = {}

    def start(self, target: Callable[..., None], *args: Any, name: str) -> int:
        """Start ``target(*args)`` in a new process; return its index."""
        parent: Any = self._parent
        if self._forkserver:
            if self._lifeline is None:
                self._lifeline = Lifeline(self._context)
            parent = self._lifeline.reader
        process = self._context.Process(  # type: ignore[attr-defined]
            target=_tied_to_parent,
            args=(parent, target, *args),
            name=name,
            daemon=False,
        )
        begun = time.monotonic()  # the child exists before start() returns
        with _main_without_a_missing_file(), _signals_held():
            process.start()
            # Recorded before a held signal can end this driver: it is stopped.
            self.processes.append(process)
            self._started.append(begun)
        return len(self.processes) - 1

    def note_exits(self) -> None:
        """Stamp the end of processes that exited since the last look."""
        now = time.monotonic()
        for index, process in enumerate(self.processes):
            if index not in self._ended and process.exitcode is not None:
                self._ended[index] = now

    def process_seconds(self) -> float:
        """Seconds the started processes were alive, summed: each from its
        start to its exit (one still running counts until now; an exit is
        stamped by :meth:`note_exits`, which :meth:`lost` and :meth:`stop`
        call: ``multi``'s supervision every 0.2 s, the dynamic mappings'
        broker as each process exits).
        What a mapping reports as ``RunResult.process_seconds``."""
        self.note_exits()
        now = time.monotonic()
        return sum(
            self._ended.get(index, now) - started for index, started in enumerate(self._started)
        )

    def lost(self, finished: Container[int]) -> tuple[int, str] | None:
        """The first worker (index, how it ended) that exited before it
        finished, if any. A clean exit (status 0) gets
        :data:`EXIT_GRACE_CHECKS` calls for its last reports to arrive."""
        self.note_exits()
        for index, process in enumerate(self.processes):
            code = process.exitcode
            if index in finished or code is None:
                continue
            if code == 0:
                self._quiet_checks[index] = self._quiet_checks.get(index, 0) + 1
                if self._quiet_checks[index] < EXIT_GRACE_CHECKS:
                    continue
            return index, exit_description(code)
        return None

    def stop(self, *, graceful: bool) -> None:
        """End every process: after a run (``graceful``) they get
        :data:`STOP_GRACE` seconds to exit; after an abort, :data:`ABORT_GRACE`;
        then they are terminated and, if need be, killed."""
        deadline = time.monotonic() + (STOP_GRACE if graceful else ABORT_GRACE)
        self.note_exits()
        for process in self.processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
            self.note_exits()  # every process that ended meanwhile, not only this one
        alive = [process for process in self.processes if process.is_alive()]
        for process in alive:
            process.terminate()
        deadline = time.monotonic() + TERMINATE_GRACE
        for process in alive:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in alive:
            if process.is_alive():
                process.kill()
                process.join(timeout=TERMINATE_GRACE)
        self.note_exits()
        if self._lifeline is not None and all(not p.is_alive() for p in self.processes):
            self._lifeline.close()
            self._lifeline = None


def run_worker_command(prog: str, main: Callable[[], int]) -> int:
    """Run a worker command's ``main`` (``python -m d4p_<backend>.worker``):
    a :class:`~d4p_core.D4pError` becomes one ``PROG: error: ...`` line on
    stderr and its exit code; Ctrl-C exits with 130, quietly."""
    send_pe_prints_to_stderr()  # stdout carries results only
    try:
        return main()
    except D4pError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
