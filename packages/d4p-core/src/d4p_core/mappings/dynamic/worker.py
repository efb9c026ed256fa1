"""Worker side of the dynamic mappings (``dyn_multi``, ``dyn_auto_multi``,
``hybrid_multi``).

Two roles. The *source* process hosts the sources and queues their output.
Each *worker* hosts one copy of every stateless PE (and, for hybrid, some
pinned instances of stateful PEs), takes tasks ``(address, batch)`` from the
shared queue and runs a task's downstream chain locally, handing work back
to the shared queue only when its own backlog is long and the queue has room.

Tasks are sized by measured cost: workers share an estimate of the seconds
one item costs (its whole local chain included), and senders cut tasks to
take about :data:`TASK_SECONDS`, from ``batch_size`` items up to 64 times
that: cheap items travel in big tasks (little queue overhead per item),
costly ones in small tasks (the load stays balanced).

Every queued batch is counted in flight: the counter goes up before a batch
is queued and down after the batch's outputs are queued, so the run is
quiescent exactly when the counter is zero and the sources are done.
Commands (close a PE, retire, stop) come on each worker's
private inbox, which pinned instances also use for their data. A worker
told to ``retire`` holds no task at that point (it runs one task at a time,
to the end, before it reads a command): it closes its PE copies in
topological order, so what their ``postprocess`` writes is queued and
counted like any output, and reports ``done``.
"""

from __future__ import annotations

import multiprocessing.queues
import queue
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from time import perf_counter
from typing import Any

from ...inputs import InputSpec, iter_blocks
from ...planning.plan import Plan
from ...runtime.engine import Address, Batch, Executor, given_blocks, instantiate
from ...runtime.payload import GraphPayload
from ...runtime.supervision import BatchingReporter, Report
from .._workers import Aborted, blocking_put, guarded_worker, queue_reporter, should_stop

__all__ = ["DynamicWorkerSpec", "dynamic_worker_main"]

MPQueue = multiprocessing.queues.Queue
_POLL = 0.2
TASK_SECONDS = 0.005
"""What one task should cost a worker."""
_LARGEST_TASK = 64
"""Tasks grow to at most this many times ``batch_size`` items."""


@dataclass(frozen=True)
class DynamicWorkerSpec:
    index: int
    role: str  # "source" or "worker"
    hosted: tuple[Address, ...]
    provided: dict[str, InputSpec]
    plan: Plan
    pinned_owner: dict[Address, int]  # pinned instance -> worker index (inbox)
    payload: GraphPayload
    batch_size: int
    spill_above: int
    report_progress: bool
    # Stateless PEs of which other workers hold copies too: process() must
    # not change their attributes (the state would be split).
    state_copies: tuple[str, ...] = ()


class _Counter:
    """The in-flight counter (a shared integer) and the count of finished
    tasks (read by the autoscaler)."""

    def __init__(self, value: Any, completed: Any, on_zero: Callable[[], None]) -> None:
        self._value = value
        self._completed = completed
        self._on_zero = on_zero

    def add(self, amount: int) -> None:
        with self._value.get_lock():
            self._value.value += amount
            zero = self._value.value == 0
        if zero:
            self._on_zero()

    def task_done(self) -> None:
        # One lock per task: the finished count is a raw value guarded by
        # the in-flight counter's lock.
        with self._value.get_lock():
            self._value.value -= 1
            self._completed.value += 1
            zero = self._value.value == 0
        if zero:
            self._on_zero()


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


class _DynamicTransport:
    """Queues batches for pinned instances (their owner's inbox) or for any
    worker (the shared queue), counting each in flight."""

    def __init__(
        self,
        spec: DynamicWorkerSpec,
        shared: MPQueue[Any],
        inboxes: list[MPQueue[Any]],
        counter: _Counter,
        abort: Any,
        service: Callable[[], bool] | None,
        sizer: _TaskSizer,
    ) -> None:
        self._spec = spec
        self.sizer = sizer
        self.executor: Executor | None = None  # resized after every send
        self._shared = shared
        self._inboxes = inboxes
        self._counter = counter
        self._abort = abort
        self._service = service

    def _queue_for(self, dst: Address) -> MPQueue[Any]:
        owner = self._spec.pinned_owner.get(dst)
        return self._shared if owner is None else self._inboxes[owner]

    def send(self, dst: Address, batch: Batch) -> None:
        target = self._queue_for(dst)
        self._counter.add(1)
        if self.executor is not None:
            self.executor.batch_size = self.sizer.size()
        if self._service is None:
            blocking_put(target, (dst, batch), self._abort)
            return
        # A worker must not wait for room with its own inbox unread: two
        # workers sending to each other's full inboxes would wait forever.
        while True:
            try:
                target.put((dst, batch), timeout=0.01)
                return
            except queue.Full:
                if should_stop(self._abort):
                    raise Aborted from None
                self._service()

    def send_eos(self, dst: Address) -> None:  # pragma: no cover - never used
        raise AssertionError("dynamic mappings end PEs by command")

    def offer(self, dst: Address, batch: Batch) -> bool:
        if dst in self._spec.pinned_owner:
            return False  # a pinned instance's work stays with its owner
        self._counter.add(1)
        try:
            self._shared.put_nowait((dst, batch))
        except queue.Full:
            self._counter.add(-1)
            return False
        return True


class _Receiver:
    """Next message: the private inbox first, then the shared queue."""

    def __init__(self, private: MPQueue[Any], shared: MPQueue[Any], abort: Any) -> None:
        self.private = private
        self.shared = shared
        self.abort = abort
        self.early: deque[Any] = deque()  # private messages read while sending

    def next(self, before_wait: Callable[[], None]) -> tuple[bool, Any]:
        readers = [self.private._reader, self.shared._reader]  # type: ignore[attr-defined]
        waited = False
        while True:
            if self.early:
                return True, self.early.popleft()
            try:
                return True, self.private.get_nowait()
            except queue.Empty:
                pass
            try:
                return False, self.shared.get_nowait()
            except queue.Empty:
                pass
            if not waited:
                before_wait()
                waited = True
            if not wait(readers, timeout=_POLL) and should_stop(self.abort):
                raise Aborted


def dynamic_worker_main(
    report_id: int,
    spec: DynamicWorkerSpec,
    shared: MPQueue[Any],
    inboxes: list[MPQueue[Any]],
    in_flight: Any,
    completed: Any,
    item_cost: Any,
    control: MPQueue[Any],
    abort: Any,
) -> None:
    """A dynamic process: ``spec.index`` is its slot (its inbox),
    ``report_id`` names its reports (a slot may host several processes in
    turn, one after another)."""
    reporter = queue_reporter(control, report_id, abort)

    def report_idle() -> None:
        blocking_put(control, (Report.IDLE, report_id, None), abort)

    counter = _Counter(in_flight, completed, report_idle)
    sizer = _TaskSizer(item_cost, spec.batch_size)

    def body() -> None:
        hosted = instantiate(spec.payload.load(), spec.hosted)
        if spec.role == "source":
            _run_sources(_Channels(spec, shared, inboxes, counter, sizer, reporter, abort), hosted)
        else:
            _run_worker(_Channels(spec, shared, inboxes, counter, sizer, reporter, abort), hosted)

    guarded_worker(reporter, [shared, *inboxes], control, body)


@dataclass(frozen=True)
class _Channels:
    """What a worker talks through."""

    spec: DynamicWorkerSpec
    shared: MPQueue[Any]
    inboxes: list[MPQueue[Any]]
    counter: _Counter
    sizer: _TaskSizer
    reporter: BatchingReporter
    abort: Any


def _executor(
    channels: _Channels, hosted: dict[Address, Any], transport: _DynamicTransport, **extra: Any
) -> Executor:
    """The engine of a dynamic process: no end-of-stream between tasks (the
    coordinator closes PEs), results and progress to the reporter."""
    spec, reporter = channels.spec, channels.reporter
    executor = Executor(
        spec.plan,
        hosted,
        transport=transport,
        on_result=reporter.result,
        batch_size=spec.batch_size,
        end_of_stream=False,
        on_progress=reporter.progress if spec.report_progress else None,
        state_copies=spec.state_copies,
        **extra,
    )
    transport.executor = executor
    return executor


def _run_sources(channels: _Channels, hosted: dict[Address, Any]) -> None:
    spec, reporter = channels.spec, channels.reporter
    transport = _DynamicTransport(
        spec,
        channels.shared,
        channels.inboxes,
        channels.counter,
        channels.abort,
        service=None,
        sizer=channels.sizer,
    )
    executor = _executor(channels, hosted, transport)
    executor.start()
    # Inputs given to non-source PEs become tasks like any other.
    for pe_id, given in spec.provided.items():
        if (pe_id, 0) in hosted:
            continue
        for block in iter_blocks(given):
            transport.send((pe_id, 0), given_blocks([block]))
    executor.feed(spec.provided)  # also runs the sources' postprocess
    executor.flush()
    reporter.done(executor.instance_metrics())


def _run_worker(channels: _Channels, hosted: dict[Address, Any]) -> None:
    spec, reporter, counter, sizer = (
        channels.spec,
        channels.reporter,
        channels.counter,
        channels.sizer,
    )
    receiver = _Receiver(channels.inboxes[spec.index], channels.shared, channels.abort)

    def service_inbox() -> bool:
        # Called while waiting for room to send: read (do not process) our
        # own inbox, so that whoever is sending to us can go on.
        try:
            receiver.early.append(receiver.private.get_nowait())
        except queue.Empty:
            return False
        return True

    transport = _DynamicTransport(
        spec, channels.shared, channels.inboxes, counter, channels.abort, service_inbox, sizer
    )
    executor = _executor(
        channels,
        hosted,
        transport,
        spill=transport,
        spill_above=spec.spill_above,
        send_by_size=False,
    )
    executor.start()
    while True:
        private, message = receiver.next(before_wait=reporter.flush)
        if private and isinstance(message[0], str):
            command, argument = message[1], message[2]
            if command == "close":
                executor.close(argument)
                executor.flush()
                reporter.send(Report.CLOSED, argument)
            elif command == "retire":
                executor.close_all()  # its copies' postprocess output is queued, counted
                break
            elif command == "stop":
                break
            continue
        dst, batch = message
        started = perf_counter()
        executor.receive(dst, batch)
        executor.flush()
        sizer.observe(perf_counter() - started, sum(len(values) for _, values in batch))
        counter.task_done()
    reporter.done(executor.instance_metrics())
