"""Worker side of the local dynamic mappings (``dyn_multi``,
``dyn_auto_multi``, ``hybrid_multi``).

Each process talks to the driver's :class:`~.broker.TaskBroker` over one pipe
of its own, which only it writes: a process killed at any moment leaves
nothing torn or locked that another process shares (a shared
``multiprocessing.Queue`` would: a writer killed mid-message, or holding the
queue's lock, breaks it for everyone).

Two roles. The *source* process hosts the sources and sends their output as
tasks, one message each, within the credit the broker grants it
(back-pressure: the driver holds at most ``queue_size`` queued tasks before
the sources wait). Each *worker* hosts one copy of every stateless PE (and,
for hybrid, the pinned instances of stateful PEs its slot owns), is given
tasks ``(address, batch)`` and runs a task's downstream chain locally,
handing work to others only when its own backlog is long and the driver's
queue has room.

After each task a worker answers with one **commit** message carrying
everything the task produced: the tasks it hands on (spilled work, and work
for pinned instances it does not host) and the results. Nothing leaves the
worker before that message, so a worker that dies mid-task has done nothing
anyone can see, and the broker gives the task to another worker: done
exactly once. What a close command makes (``postprocess`` output) travels
the same way, with the ``closed`` answer; a worker told to ``retire`` closes
its PE copies in topological order and commits what they wrote before it
reports ``done``.

Tasks are sized by measured cost: workers share an estimate of the seconds
one item costs (its whole local chain included), and senders cut tasks to
take about :data:`TASK_SECONDS`, from ``batch_size`` items up to 64 times
that: cheap items travel in big tasks (little overhead per item), costly ones
in small tasks (the load stays balanced). A worker whose last task was quick
holds two (the next waits in its pipe, no round trip between them); one
whose tasks are slow holds one (an idle worker takes the next).

Messages, process to broker: ``("ready",)``, ``("commit", task_id | None,
tasks, results, answer | None, window, seconds, cpu_seconds)``, ``("tasks", tasks)`` (the sources),
``("report", kind, payload)``. Broker to process: ``("task", task_id, task,
room)`` (``room``: whether the queue has room for spilled work), ``("cmd",
name, argument)``, ``("credit", n)`` (to the sources). A task travels as
``(owner, pickle of (address, batch))``, ``owner`` the slot hosting a
pinned address (else ``None``): the broker routes it without unpickling.
"""

from __future__ import annotations

import contextlib
import pickle
import queue
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from time import perf_counter, process_time
from typing import Any

from ...inputs import InputSpec, iter_blocks
from ...planning.plan import Plan
from ...runtime.engine import Address, Batch, Executor, PEFailure, given_blocks, instantiate
from ...runtime.lifetime import parent_gone
from ...runtime.payload import GraphPayload
from ...runtime.supervision import Aborted, BatchingReporter, Report, crash_text

__all__ = ["TASK_SECONDS", "DynamicWorkerSpec", "Task", "dynamic_worker_main"]

_POLL = 0.2  # seconds between checks for an abort while waiting (failures only)
TASK_SECONDS = 0.005
"""What one task should cost a worker."""
_LARGEST_TASK = 64
"""Tasks grow to at most this many times ``batch_size`` items."""
QUICK_TASK = 2 * TASK_SECONDS
"""A worker that ran its last task within this many seconds holds two."""

Task = tuple["int | None", bytes]
"""A task on the wire: the slot owning its pinned address (or ``None``), and
the pickle of ``(address, batch)``."""


@dataclass(frozen=True)
class DynamicWorkerSpec:
    index: int
    role: str  # "source" or "worker"
    hosted: tuple[Address, ...]
    provided: dict[str, InputSpec]
    plan: Plan
    pinned_owner: dict[Address, int]  # pinned instance -> the slot hosting it
    payload: GraphPayload
    batch_size: int
    spill_above: int
    report_progress: bool
    # Stateless PEs of which other workers hold copies too: process() must
    # not change their attributes (the state would be split).
    state_copies: tuple[str, ...] = ()


class _TaskSizer:
    """Items per task from the shared cost estimate (seconds per item, an
    exponential average over finished tasks; 0.0 until the first one)."""

    def __init__(self, cost: Any, minimum: int) -> None:
        self._cost = cost
        self._minimum = minimum
        self._maximum = minimum * _LARGEST_TASK

    def observe(self, seconds: float, items: int) -> None:
        if items:
            per_item, old = seconds / items, self._cost.value
            self._cost.value = per_item if old == 0.0 else 0.8 * old + 0.2 * per_item

    def size(self) -> int:
        cost = self._cost.value
        if cost <= 0.0:
            return self._minimum
        return int(min(self._maximum, max(self._minimum, TASK_SECONDS / cost)))


class _Link:
    """This process's end of its pipe to the broker.

    A thread reads the pipe all the time: the driver's send to this process
    must never wait for it to finish a task, or a driver sending a large
    task and this process sending a large commit would each wait for the
    other to read (both pipes full)."""

    def __init__(self, conn: Connection, aborted: Any) -> None:
        self.conn = conn
        self.aborted = aborted
        self._inbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, name="d4p-link", daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                self._inbox.put(self.conn.recv())
        except (EOFError, OSError):
            self._inbox.put(None)  # the driver closed the pipe, or is gone

    def stopped(self) -> bool:
        """The run was aborted, or the driver is gone. Never a lock: a
        process killed holding it would leave everyone else waiting."""
        return bool(self.aborted.value) or parent_gone()

    def send(self, message: tuple[Any, ...]) -> None:
        if self.stopped():
            raise Aborted
        self.conn.send(message)

    def receive(self) -> tuple[Any, ...]:
        while True:
            try:
                message = self._inbox.get(timeout=_POLL)
            except queue.Empty:
                if self.stopped():
                    raise Aborted from None
                continue
            if message is None:
                raise Aborted
            return message


class _Sender:
    """What an executor sends through: tasks addressed by owner, cut to the
    cost estimate (after every send the executor's batch size is reset)."""

    def __init__(self, spec: DynamicWorkerSpec, sizer: _TaskSizer) -> None:
        self.sizer = sizer
        self.executor: Executor | None = None
        self._pinned = spec.pinned_owner

    def task(self, dst: Address, batch: Batch) -> Task:
        if self.executor is not None:
            self.executor.batch_size = self.sizer.size()
        raw = pickle.dumps((dst, batch), protocol=pickle.HIGHEST_PROTOCOL)
        return self._pinned.get(dst), raw

    def send_eos(self, dst: Address) -> None:  # pragma: no cover - never used
        raise AssertionError("dynamic mappings end PEs by command")


class _Outbox(_Sender):
    """A worker's: what the current task produced waits for its commit
    (tasks, and results through the reporter)."""

    def __init__(self, spec: DynamicWorkerSpec, sizer: _TaskSizer, link: _Link) -> None:
        super().__init__(spec, sizer)
        self._link = link
        self.tasks: list[Task] = []
        self.results: list[tuple[str, str, Any]] = []
        self.room = False  # whether the broker's queue had room at the last task

    def report(self, kind: Report, payload: Any) -> None:
        """The reporter's delivery: results wait for the commit."""
        if kind is Report.RESULTS:
            self.results.extend(payload)
        else:
            self._link.send(("report", kind, payload))

    def send(self, dst: Address, batch: Batch) -> None:
        self.tasks.append(self.task(dst, batch))

    def offer(self, dst: Address, batch: Batch) -> bool:
        if not self.room or dst in self._pinned:
            return False  # no room; or a pinned instance's work stays with its owner
        self.send(dst, batch)
        return True

    def commit(
        self,
        reporter: BatchingReporter,
        task: int | None,
        answer: Any = None,
        window: int = 1,
        took: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        """Send what was produced since the last commit; ``took``: the task's
        seconds and CPU-seconds."""
        reporter.flush()
        tasks, results = self.tasks, self.results
        self.tasks, self.results = [], []
        self._link.send(("commit", task, tasks, results, answer, window, *took))


class _SourceOutbox(_Sender):
    """The sources': each task goes at once, within the credit."""

    def __init__(
        self, spec: DynamicWorkerSpec, sizer: _TaskSizer, link: _Link, credit: int
    ) -> None:
        super().__init__(spec, sizer)
        self._link = link
        self._credit = credit

    def send(self, dst: Address, batch: Batch) -> None:
        while self._credit <= 0:
            message = self._link.receive()
            assert message[0] == "credit", message
            self._credit += message[1]
        self._credit -= 1
        self._link.send(("tasks", [self.task(dst, batch)]))


def dynamic_worker_main(
    report_id: int,
    spec: DynamicWorkerSpec,
    conn: Connection,
    item_cost: Any,
    credit: int,
    aborted: Any,
    control: Any,
    abort: Any,
) -> None:
    """A dynamic process (``spec.role``: ``"source"`` or ``"worker"``); the
    sources start with ``credit`` tasks they may send; ``aborted``: a raw
    shared flag. The worker group's ``control`` queue and ``abort`` event
    are not used: a process killed inside their locks would leave the others
    waiting for ever."""
    link = _Link(conn, aborted)
    sizer = _TaskSizer(item_cost, spec.batch_size)
    outbox = _Outbox(spec, sizer, link)
    if spec.role == "source":  # its results go at once: its death ends the run
        reporter = BatchingReporter(lambda kind, payload: link.send(("report", kind, payload)))
    else:
        reporter = BatchingReporter(outbox.report)
    try:
        hosted = instantiate(spec.payload.load(), spec.hosted)
        if spec.role == "source":
            _run_sources(spec, reporter, _SourceOutbox(spec, sizer, link, credit), hosted)
        else:
            _run_worker(spec, link, outbox, reporter, hosted)
    except PEFailure as failure:
        outbox.results.clear()  # the failed task's results are never delivered
        _last_report(link, Report.FAILED, failure.info)
    except Aborted:
        pass  # nobody reads anything any more
    except BaseException as exc:  # noqa: BLE001 - reported to the driver
        _last_report(link, Report.CRASHED, crash_text(exc))
    # The pipe is left to the process's exit: the reading thread may be
    # inside it, and the driver sees end-of-file when the process is gone.


def _last_report(link: _Link, kind: Report, payload: Any) -> None:
    """If even this fails, the driver still sees the process exit."""
    with contextlib.suppress(Aborted, OSError):
        link.send(("report", kind, payload))


def _executor(
    spec: DynamicWorkerSpec,
    reporter: BatchingReporter,
    hosted: dict[Address, Any],
    sender: _Outbox | _SourceOutbox,
    **extra: Any,
) -> Executor:
    """The engine of a dynamic process: no end-of-stream between tasks (the
    coordinator closes PEs), results and progress to the reporter."""
    executor = Executor(
        spec.plan,
        hosted,
        transport=sender,
        on_result=reporter.result,
        batch_size=spec.batch_size,
        end_of_stream=False,
        on_progress=reporter.progress if spec.report_progress else None,
        state_copies=spec.state_copies,
        **extra,
    )
    sender.executor = executor
    return executor


def _run_sources(
    spec: DynamicWorkerSpec,
    reporter: BatchingReporter,
    sender: _SourceOutbox,
    hosted: dict[Address, Any],
) -> None:
    executor = _executor(spec, reporter, hosted, sender)
    executor.start()
    for pe_id, given in spec.provided.items():  # inputs given to non-source PEs
        if (pe_id, 0) not in hosted:
            for block in iter_blocks(given):
                sender.send((pe_id, 0), given_blocks([block]))
    executor.feed(spec.provided)  # also runs the sources' postprocess
    executor.flush()
    reporter.done(executor.instance_metrics())


def _run_worker(
    spec: DynamicWorkerSpec,
    link: _Link,
    outbox: _Outbox,
    reporter: BatchingReporter,
    hosted: dict[Address, Any],
) -> None:
    executor = _executor(
        spec,
        reporter,
        hosted,
        outbox,
        spill=outbox,
        spill_above=spec.spill_above,
        send_by_size=False,
    )
    executor.start()
    link.send(("ready",))
    while True:
        message = link.receive()
        if message[0] == "task":
            _, task_id, task, outbox.room = message
            dst, batch = pickle.loads(task)
            started, cpu = perf_counter(), process_time()
            executor.receive(dst, batch)
            executor.flush()
            seconds, cpu = perf_counter() - started, process_time() - cpu
            outbox.sizer.observe(seconds, sum(len(values) for _, values in batch))
            # Quick tasks: hold the next one too (no round trip between
            # them); slow ones: one at a time (an idle worker takes the next).
            window = 2 if seconds <= QUICK_TASK else 1
            outbox.commit(reporter, task_id, window=window, took=(seconds, cpu))
            continue
        _, command, argument = message
        if command == "close":
            executor.close(argument)
            executor.flush()
            outbox.commit(reporter, None, argument)
        elif command == "retire":
            executor.close_all()  # its copies' postprocess output is committed
            outbox.commit(reporter, None)
            break
        elif command == "stop":
            break
    reporter.done(executor.instance_metrics())
