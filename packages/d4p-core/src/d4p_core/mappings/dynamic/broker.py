"""The driver side of the local dynamic mappings' transport: the task queue
lives in the driver, and every process has a pipe of its own
(:mod:`.worker` is the other side).

A worker process may be killed at any moment without harm to the run. The
broker gives each worker a task (two while tasks are quick) and remembers
which; the worker answers each with one commit message that carries
everything the task produced. A worker that dies before that message has
shown nobody anything: its tasks go back to the front of the queue for
other workers, and the coordinator is told the worker left (an elastic pool
may start another in its slot; a fixed pool goes on with the others).
Nothing is lost and nothing is done twice.

What cannot be replaced fails the run: the sources' process (its place in
the sources is lost with it), a worker hosting pinned instances
(``hybrid_multi``: their state is lost), the last worker of a fixed pool.
A task that kills every worker that takes it must not go round for ever:
after ``max_deaths`` deaths holding it the run fails, naming its PE. Workers
that die holding no task (a PE that kills its process at start) would be
replaced for ever: more such deaths than slots end the run too.

The in-flight count the coordinator needs is the broker's own: tasks queued
plus tasks held. A commit moves it in one step, so the run is quiescent
exactly when nothing is queued or held and the sources are done (their
``done`` report follows their last task on the same pipe).
"""

from __future__ import annotations

import contextlib
import multiprocessing.context
import pickle
import selectors
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ...runtime.supervision import (
    Report,
    exit_description,
    task_kills_workers,
    workers_die_holding_nothing,
)
from .._workers import WorkerGroup
from .coordinator import DynamicCoordinator
from .worker import DynamicWorkerSpec, Task

__all__ = ["TaskBroker"]


@dataclass
class _Task:
    id: int
    raw: bytes  # pickle of (address, batch), never unpickled here
    deaths: int = 0  # workers that died holding it


class TaskBroker:
    """Tasks queued in the driver, handed to workers over their own pipes;
    see the module docs.

    ``queue_size`` bounds the tasks queued before the sources wait (their
    credit); ``max_deaths`` is how many workers may die holding one task;
    ``slots`` is the number of worker slots.
    """

    def __init__(
        self,
        group: WorkerGroup,
        context: multiprocessing.context.BaseContext,
        *,
        queue_size: int,
        max_deaths: int,
        slots: int,
    ) -> None:
        self._group = group
        self._context = context
        self._queue_size = queue_size
        self._max_deaths = max_deaths
        self._slots = slots
        self._shared: deque[_Task] = deque()  # for any worker
        self._pinned: dict[int, deque[_Task]] = {}  # slot -> tasks for its pinned instances
        self._queued = 0  # tasks in all those queues
        self._held: dict[int, deque[_Task]] = {}  # report id -> its tasks, oldest first
        self._held_count = 0
        self._window: dict[int, int] = {}  # report id -> how many tasks it may hold
        self._free: deque[int] = deque()  # one report id per task it may still be given
        self._accepting: set[int] = set()  # report ids that may be given tasks
        self._conns: dict[int, Connection] = {}  # report id -> its open pipe
        self._ended: set[int] = set()  # report ids that died
        self._current: dict[int, int] = {}  # slot -> report id of its latest process
        self._owners: set[int] = set()  # slots hosting pinned instances
        self._source: int | None = None
        self._source_credit = 0  # credit the sources hold, as far as we know
        self._next_id = 0
        self._empty_deaths = 0
        self._selector = selectors.DefaultSelector()  # every pipe, every process's exit
        # The workers' "the run was aborted": a raw shared byte, read without
        # a lock (a process killed while holding the lock of the group's
        # abort event would leave every other process waiting on it).
        self._aborted = context.RawValue("b", 0)
        self.completed = 0
        self._task_seconds = 0.0  # seconds workers spent on tasks, summed
        self._task_cpu = 0.0  # CPU-seconds they used meanwhile
        self.coordinator: DynamicCoordinator | None = None

    # -- what the coordinator calls ------------------------------------------------
    def in_flight(self) -> int:
        return self._queued + self._held_count

    def task_time(self) -> tuple[float, float]:
        """Seconds workers spent running tasks so far, and the CPU-seconds
        they used meanwhile."""
        return self._task_seconds, self._task_cpu

    def start(self, spec: DynamicWorkerSpec, item_cost: Any) -> None:
        """Start a process for slot ``spec.index`` with its own pipe."""
        ours, theirs = self._context.Pipe(duplex=True)
        credit = self._queue_size if spec.role == "source" else 0
        try:
            rid = self._group.start(spec.index, spec, theirs, item_cost, credit, self._aborted)
        finally:
            theirs.close()  # the child's end is the child's alone
        self._conns[rid] = ours
        self._current[spec.index] = rid
        self._selector.register(ours, selectors.EVENT_READ, ("pipe", rid))
        sentinel = self._group.processes.processes[rid].sentinel
        self._selector.register(sentinel, selectors.EVENT_READ, ("exit", rid))
        if spec.role == "source":
            self._source, self._source_credit = rid, credit
            return
        self._accepting.add(rid)
        self._held[rid] = deque()
        self._window[rid] = 1
        if any(spec.pinned_owner.get(address) == spec.index for address in spec.hosted):
            self._owners.add(spec.index)

    def send(self, slot: int, command: tuple[str, str, Any]) -> None:
        """A coordinator's command to the process in ``slot``."""
        rid = self._current[slot]
        if command[1] in ("retire", "stop"):
            self._no_more_tasks(rid)
        self._post(rid, command)

    def _post(self, rid: int, message: tuple[Any, ...]) -> None:
        conn = self._conns.get(rid)
        if conn is not None:
            # A process that died meanwhile: its pipe is read to the end and
            # it is handled as gone.
            with contextlib.suppress(OSError):
                conn.send(message)

    # -- the loop --------------------------------------------------------------------
    def run(self, coordinator: DynamicCoordinator, poll: float) -> None:
        """Move tasks and reports until the coordinator stops and every
        process has ended; raise RunError on a failure (all stopped)."""
        group = self._group
        self.coordinator = coordinator
        try:
            while not (coordinator.stopping and self._all_ended()):
                coordinator.on_tick()
                for key, _ in self._selector.select(poll):
                    what, rid = key.data
                    if what == "pipe":
                        self._read(rid)
                    else:
                        self._exited(rid)
                self._dispatch()
        except BaseException:
            self.abort()
            raise
        finally:
            self._selector.close()
            for conn in self._conns.values():
                conn.close()
        group.stop()

    def abort(self) -> None:
        """Stop every process at once (a failure)."""
        self._aborted.value = 1
        self._group.abort_all()

    def _all_ended(self) -> bool:
        finished = self._group.sink.finished
        return all(rid in self._ended or rid in finished for rid in range(len(self._group.slot_of)))

    def _read(self, rid: int) -> None:
        """Handle the next message from ``rid``; a pipe that ended (perhaps
        mid-message: that one is dropped, it never arrived) means the
        process is gone."""
        conn = self._conns.get(rid)
        if conn is None:
            return
        try:
            message = conn.recv()
        except (EOFError, OSError):
            self._gone(rid)
            return
        self._handle(rid, message)

    def _exited(self, rid: int) -> None:
        """``rid``'s process exited: what it sent is handled, then it is gone."""
        self._selector.unregister(self._group.processes.processes[rid].sentinel)
        self._group.processes.note_exits()
        while rid in self._conns and self._conns[rid].poll():
            self._read(rid)
        self._gone(rid)

    def _handle(self, rid: int, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "commit":
            self._commit(rid, *message[1:])
        elif kind == "tasks":
            self._queue(message[1])
            self._source_credit -= len(message[1])
        elif kind == "ready":
            if rid in self._accepting:
                self._free.append(rid)
        elif kind == "report":
            self._report(rid, Report(message[1]), message[2])

    def _report(self, rid: int, kind: Report, payload: Any) -> None:
        group, coordinator = self._group, self.coordinator
        assert coordinator is not None
        kind = group.sink.handle(kind, rid, payload)
        coordinator.on_report(kind, group.slot_of[rid], payload)

    def _queue(self, tasks: list[Task]) -> None:
        for owner, raw in tasks:
            queue = self._shared if owner is None else self._pinned.setdefault(owner, deque())
            queue.append(_Task(self._next_id, raw))
            self._next_id += 1
        self._queued += len(tasks)

    def _commit(
        self,
        rid: int,
        task_id: int | None,
        tasks: list[Task],
        results: list[Any],
        answer: Any,
        window: int,
        seconds: float,
        cpu: float,
    ) -> None:
        """One step: the task is done, what it made is queued, its results
        delivered (and the close round's answer given). ``window``: how many
        tasks the worker wants to hold from now on; ``seconds``, ``cpu``:
        what the task took."""
        if task_id is not None:
            self._task_seconds += seconds
            self._task_cpu += cpu
            task = self._held[rid].popleft()  # a worker runs its tasks in order
            assert task.id == task_id, (task.id, task_id)
            self._held_count -= 1
            self.completed += 1
            if rid in self._accepting:
                self._free.extend([rid] * (1 + window - self._window[rid]))
                self._window[rid] = window
        self._queue(tasks)
        if results:
            self._report(rid, Report.RESULTS, results)
        if answer is not None:
            self._report(rid, Report.CLOSED, answer)
        if not self.in_flight():
            self._report(rid, Report.IDLE, None)

    def _dispatch(self) -> None:
        free, slot_of = self._free, self._group.slot_of
        for _ in range(len(free)):
            if not self._queued:
                break
            rid = free.popleft()
            queue = self._pinned.get(slot_of[rid])
            if not queue:
                queue = self._shared
            if not queue:
                free.append(rid)  # nothing for it yet
                continue
            task = queue.popleft()
            self._queued -= 1
            self._held[rid].append(task)
            self._held_count += 1
            self._post(rid, ("task", task.id, task.raw, self._queued < self._queue_size))
        if self._source is not None:
            room = self._queue_size - self._queued - self._source_credit
            if room > 0 and (self._source_credit == 0 or room >= self._queue_size // 2):
                self._source_credit += room
                self._post(self._source, ("credit", room))

    # -- a process that ended -------------------------------------------------------
    def _gone(self, rid: int) -> None:
        conn = self._conns.pop(rid, None)
        if conn is None:
            return
        self._selector.unregister(conn)
        conn.close()
        if rid in self._group.sink.finished:
            return  # it reported done and closed its pipe: as expected
        self._ended.add(rid)
        how = self._how_it_ended(rid)
        slot = self._group.slot_of[rid]
        if rid == self._source or slot in self._owners:
            raise self._group.sink.lost(rid, how)
        self._no_more_tasks(rid)
        held = self._held.pop(rid)
        self._held_count -= len(held)
        if held:
            # It was running the oldest; the others waited in its pipe.
            held[0].deaths += 1
            if held[0].deaths >= self._max_deaths:
                (address, _) = pickle.loads(held[0].raw)
                raise task_kills_workers(address, held[0].deaths, self._max_deaths, how).to_error()
            self._shared.extendleft(reversed(held))  # next, on other workers
            self._queued += len(held)
        else:
            self._empty_deaths += 1
            if self._empty_deaths > self._slots:
                raise workers_die_holding_nothing(self._empty_deaths, how)
        coordinator = self.coordinator
        assert coordinator is not None
        if self._current.get(slot) == rid:
            coordinator.leave(slot)
        if not (coordinator.elastic or coordinator.live()):
            raise self._group.sink.lost(rid, f"{how}, the last worker left")

    def _no_more_tasks(self, rid: int) -> None:
        self._accepting.discard(rid)
        if rid in self._free:
            self._free = deque(r for r in self._free if r != rid)

    def _how_it_ended(self, rid: int) -> str:
        process = self._group.processes.processes[rid]
        process.join(timeout=2.0)  # its pipe closed as it exited
        if process.exitcode is None:  # it closed its pipe and lives on: end it
            process.kill()
            process.join()
            return "closed its pipe to the driver"
        return exit_description(process.exitcode)
