"""Process supervision shared by the multiprocessing mappings.

The parent starts worker processes, reads their reports from one control
queue and ends the run exactly when every worker reported ``done``. A PE
failure, a crash or a worker killed from outside sets the shared abort event,
and every child is stopped (terminate, then kill) before the parent raises —
nothing is left running.

Workers get the PEs as one pickled payload (so every start method works and
the caller's graph is never mutated); modules that were loaded from a file
path are re-loaded by path in the worker before unpickling.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import multiprocessing.context
import multiprocessing.queues
import os
import pickle
import queue
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import D4pError, GraphError, RunError
from ..loader import file_modules, load_file_module
from ..model.pe import GenericPE
from .lifetime import die_with_parent, parent_gone, parent_token
from .result import FailureInfo, Outputs

__all__ = [
    "START_METHODS",
    "Aborted",
    "ControlReporter",
    "GraphPayload",
    "WorkerGroup",
    "add_process_arguments",
    "blocking_get",
    "blocking_put",
    "check_process_options",
    "guarded_worker",
    "report_crash",
    "should_stop",
]

_POLL = 0.2  # seconds between checks for an abort while blocked (failures only)

START_METHODS = ("fork", "spawn", "forkserver")


def check_process_options(processes: int | None, start_method: str | None, **sizes: int) -> None:
    """Validate the options every multiprocessing mapping shares."""
    if processes is not None and processes < 1:
        raise D4pError(f"processes must be at least 1, not {processes}")
    if start_method is not None and start_method not in START_METHODS:
        raise D4pError(
            f"unknown start method {start_method!r}; use one of {', '.join(START_METHODS)}"
        )
    for name, value in sizes.items():
        if value < 1:
            raise D4pError(f"{name} must be at least 1, not {value}")


def add_process_arguments(
    parser: argparse.ArgumentParser, *, batch_size: int, queue_size: int, unit: str
) -> None:
    """Command-line options every multiprocessing mapping shares."""
    parser.add_argument(
        "--start-method", choices=START_METHODS, help="multiprocessing start method"
    )
    parser.add_argument(
        "--batch-size", type=int, default=batch_size, help=f"items per {unit} ({batch_size})"
    )
    parser.add_argument(
        "--queue-size",
        type=int,
        default=queue_size,
        help=f"{unit}s buffered per queue before senders wait ({queue_size})",
    )


class Aborted(BaseException):
    """The run was aborted (another worker failed); stop quietly.

    A BaseException, so that the engine never mistakes it for a PE failure
    when it interrupts a send made inside a PE call.
    """


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


@dataclass(frozen=True)
class GraphPayload:
    """The PEs of a flat graph, as other processes receive them.

    Besides the pickled PEs it carries what another interpreter needs to
    unpickle them: workflow modules loaded from a file path, the directories
    the PE classes' packages are imported from, the user's main script (PEs
    defined in ``python my_workflow.py``), and whether the dispel4py
    compatibility layer was in use.
    """

    blob: bytes | None
    pes: dict[str, GenericPE] | None
    modules: tuple[tuple[str, str], ...]
    compat: bool
    import_roots: tuple[str, ...] = ()
    main_path: str | None = None

    @classmethod
    def create(cls, pes: dict[str, GenericPE], start_method: str) -> GraphPayload:
        compat = getattr(sys.modules.get("dispel4py"), "__d4p_compat__", False) is True
        roots, main_path = _import_context(pes.values())
        context = (tuple(file_modules().items()), compat, roots, main_path)
        try:
            blob = pickle.dumps(pes, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            if start_method != "fork":
                raise GraphError(
                    f"the PEs cannot be sent to {start_method!r} worker processes: {exc}. "
                    "Define PE classes and functions at module level (no lambdas or "
                    "local classes), or use the 'fork' start method"
                ) from exc
            return cls(None, pes, *context)
        return cls(blob, None, *context)

    def load(self) -> dict[str, GenericPE]:
        if self.compat:
            from ..compat import install

            install()
        for root in self.import_roots:
            if root not in sys.path:
                sys.path.append(root)
        running_main = getattr(sys.modules.get("__main__"), "__file__", None)
        # Spawned and forked workers already run the user's script as
        # __main__; other launchers (mpiexec) run their own.
        if self.main_path is not None and (
            running_main is None or os.path.abspath(running_main) != self.main_path
        ):
            # As multiprocessing's spawn does: the script runs as __mp_main__,
            # so its `if __name__ == "__main__":` block does not run again.
            sys.modules["__main__"] = load_file_module("__mp_main__", self.main_path)
        for name, path in self.modules:
            load_file_module(name, path)
        if self.blob is not None:
            pes: dict[str, GenericPE] = pickle.loads(self.blob)
            return pes
        assert self.pes is not None
        return self.pes


def _import_context(pes: Iterable[GenericPE]) -> tuple[tuple[str, ...], str | None]:
    """Directories to import the PE classes' modules from, and the main
    script if a PE class is defined in it."""
    roots: list[str] = []
    main_path: str | None = None
    for pe in pes:
        module = sys.modules.get(type(pe).__module__)
        path = getattr(module, "__file__", None)
        if module is None or path is None:
            continue
        if module.__name__ == "__main__":
            main_path = os.path.abspath(path)
            continue
        root = os.path.abspath(path)
        for _ in module.__name__.split("."):
            root = os.path.dirname(root)
        if os.path.basename(path) == "__init__.py":
            root = os.path.dirname(root)
        if root not in roots:
            roots.append(root)
    return tuple(roots), main_path


class ControlReporter:
    """Worker side of the control queue: results in batches, then done/failed."""

    def __init__(self, control: multiprocessing.queues.Queue[Any], index: int, abort: Any) -> None:
        self.control = control
        self._control = control
        self._index = index
        self._abort = abort
        self._results: list[tuple[str, str, Any]] = []

    def result(self, pe_id: str, output: str, value: Any) -> None:
        self._results.append((pe_id, output, value))
        if len(self._results) >= 1024:
            self.flush()

    def flush(self) -> None:
        if self._results:
            batch, self._results = self._results, []
            blocking_put(self._control, ("results", self._index, batch), self._abort)

    def send(self, kind: str, payload: Any) -> None:
        self.flush()
        blocking_put(self._control, (kind, self._index, payload), self._abort)

    def progress(self, counts: dict[str, int]) -> None:
        """Report the calls so far per PE (the parent sums the workers)."""
        blocking_put(self._control, ("progress", self._index, counts), self._abort)


def guarded_worker(
    reporter: ControlReporter,
    queues: Iterable[multiprocessing.queues.Queue[Any]],
    body: Callable[[], None],
) -> None:
    """Run a worker's body and report how it ended: a PE failure, an abort
    (quietly) or a crash. Never block process exit on unread queue data."""
    from .engine import PEFailure

    queues = list(queues)
    try:
        body()
    except PEFailure as failure:
        _quiet_exit(queues)  # the control queue still delivers the report
        with contextlib.suppress(Aborted):
            reporter.send("failed", failure.info)
    except Aborted:
        # Nobody reads anything any more, results included.
        _quiet_exit([*queues, reporter.control])
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        _quiet_exit(queues)
        report_crash(reporter, exc)


def _started_worker(parent: int | None, target: Callable[..., None], *args: Any) -> None:
    die_with_parent(parent)
    target(*args)


def _quiet_exit(queues: Iterable[multiprocessing.queues.Queue[Any]]) -> None:
    for q in queues:
        q.cancel_join_thread()


def report_crash(reporter: ControlReporter, exc: BaseException) -> None:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    # If even this fails the parent still sees the exit status.
    with contextlib.suppress(Exception):
        reporter.send("crashed", f"{type(exc).__name__}: {exc}\n{text}")


class WorkerGroup:
    """Starts worker processes and supervises them until all are done."""

    def __init__(
        self,
        context: multiprocessing.context.BaseContext,
        target: Callable[..., None],
        worker_args: Iterable[tuple[Any, ...]],
        describe: Callable[[int], str],
    ) -> None:
        self.context = context
        self.control: multiprocessing.queues.Queue[Any] = context.Queue()
        self.abort = context.Event()
        self._describe = describe
        self._processes = [
            context.Process(  # type: ignore[attr-defined]
                target=_started_worker,
                args=(parent_token(context), target, *args, self.control, self.abort),
                name=f"d4p-worker-{index}",
                # Not daemonic, so a PE may start processes of its own; the
                # workers never outlive the run (abort, parent check, kill).
                daemon=False,
            )
            for index, args in enumerate(worker_args)
        ]

    @property
    def size(self) -> int:
        return len(self._processes)

    def run(
        self,
        outputs: Outputs,
        on_done: Callable[[int, Any], None],
        on_message: Callable[[str, int, Any], None] | None = None,
        on_tick: Callable[[], None] | None = None,
        poll: float = _POLL,
    ) -> None:
        """Run the workers to completion; raise RunError on any failure."""
        finished: set[int] = set()
        self._quiet_polls: dict[int, int] = {}
        try:
            for process in self._processes:
                process.start()
            next_check = time.monotonic() + _POLL
            while len(finished) < len(self._processes):
                if on_tick is not None:
                    on_tick()
                if time.monotonic() >= next_check:
                    # Also while reports keep coming: a dead worker must be
                    # noticed even if the others are busy talking.
                    self._check_alive(finished)
                    next_check = time.monotonic() + _POLL
                try:
                    kind, index, payload = self.control.get(timeout=poll)
                except queue.Empty:
                    continue
                if kind == "results":
                    for pe_id, output, value in payload:
                        outputs.setdefault(pe_id, {}).setdefault(output, []).append(value)
                elif kind == "done":
                    finished.add(index)
                    on_done(index, payload)
                elif kind == "failed":
                    assert isinstance(payload, FailureInfo)
                    raise payload.to_error()
                elif kind == "crashed":
                    raise RunError(
                        f"worker {index} ({self._describe(index)}) crashed: "
                        f"{payload.splitlines()[0]}",
                        remote_traceback=payload,
                    )
                elif on_message is not None:
                    on_message(kind, index, payload)
        except BaseException:
            self.abort.set()
            self._stop_all()
            raise
        self._join_all()

    def send(self, target: multiprocessing.queues.Queue[Any], message: Any) -> None:
        """Send a command to a worker (gives up if the run is aborted)."""
        blocking_put(target, message, self.abort)

    def _check_alive(self, finished: set[int]) -> None:
        for index, process in enumerate(self._processes):
            if index in finished or process.exitcode is None:
                continue
            # It exited without reporting done; if it exited cleanly its last
            # reports may still be in the pipe, so give them a few polls.
            code = process.exitcode
            if code == 0:
                self._quiet_polls[index] = self._quiet_polls.get(index, 0) + 1
                if self._quiet_polls[index] < 25:
                    continue
            how = (
                f"was killed by signal {signal.Signals(-code).name}"
                if code < 0
                else f"exited with status {code}"
            )
            raise RunError(f"worker {index} ({self._describe(index)}) {how} before finishing")

    def _stop_all(self) -> None:
        # One grace period for all (they saw the abort), then terminate, then kill.
        deadline = time.monotonic() + 2
        for process in self._processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + 3
        for process in self._processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in self._processes:
            if process.is_alive():
                process.kill()
                process.join(timeout=3)
        self._close()

    def _join_all(self) -> None:
        for process in self._processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join(timeout=3)
        self._close()

    def _close(self) -> None:
        self.control.close()
        self.control.cancel_join_thread()
