"""Worker side of ``dyn_redis``, ``dyn_auto_redis`` and ``hybrid_redis``.

A *worker* hosts one copy of every stateless PE (and, for hybrid, the pinned
instances its slot owns), reads tasks ``(instance, batch)`` from its command
stream, its pinned instances' streams and the shared task stream (consumer
group), runs them on the shared :class:`~d4p_core.Executor`, and then in one
atomic step acknowledges the tasks, adds their outputs and results, and moves
the in-flight counter. A task is therefore done exactly once even when its
worker dies and another claims it (XAUTOCLAIM, or the driver hands it back).
The *source* process hosts the sources and adds their output as tasks,
waiting while the backlog is full.

A worker told to ``retire`` (``dyn_auto_redis`` shrinking) first finishes and
commits every task it read, then closes its PE copies in topological order
(what their ``postprocess`` writes becomes tasks, counted in flight) and
reports ``done`` in the same atomic step as that output, and exits.

A worker reads ``read_count`` tasks at a time while tasks are cheap (fewer
round trips), but one at a time at first and whenever a task takes longer
than :data:`SLOW_TASK`: tasks it has read are its own until it commits them, and
a worker holding several slow ones would keep them from idle workers (and
from workers the autoscaler just started).
"""

from __future__ import annotations

import pickle
import time
from typing import Any

from d4p_core import GenericPE
from d4p_core.backend import (
    Address,
    Batch,
    Executor,
    FailureInfo,
    PEFailure,
    Report,
    given_blocks,
    instantiate,
    iter_blocks,
    task_kills_workers,
)

from ._channel import DEAD_LETTERED, Channel, Entry
from ._session import RunSpec

__all__ = ["SLOW_TASK", "run_dynamic_source", "run_dynamic_worker"]

SLOW_TASK = 0.005  # seconds per task above which a worker reads one task at a time


class _TaskTransport:
    """Buffers tasks (counted in flight) for the next commit: pinned
    instances get their own stream, everything else the shared one."""

    def __init__(self, channel: Channel, spec: RunSpec) -> None:
        self._channel = channel
        self._pinned = spec.pinned_owner
        keys = channel.session.keys
        self._tasks = keys.tasks
        self._streams = {address: keys.instance(*address) for address in spec.pinned_owner}

    def send(self, dst: Address, batch: Batch) -> None:
        stream = self._streams.get(dst, self._tasks)
        self._channel.add(stream, self._channel.encode_task(dst, batch))

    def send_eos(self, dst: Address) -> None:  # pragma: no cover - never used
        raise AssertionError("dynamic mappings end PEs by command")

    def offer(self, dst: Address, batch: Batch) -> bool:
        if dst in self._pinned:
            return False  # a pinned instance's work stays with its owner
        self.send(dst, batch)
        return True


class _SourceTransport(_TaskTransport):
    """Adds each batch at once, after waiting while the backlog is full."""

    def __init__(self, channel: Channel, spec: RunSpec) -> None:
        super().__init__(channel, spec)
        self._backlog = spec.backlog
        self._known = 0  # in-flight count after our last write

    def send(self, dst: Address, batch: Batch) -> None:
        super().send(dst, batch)
        self._wait_for_room()
        self._known = self._channel.commit()

    def _wait_for_room(self) -> None:
        if self._known < self._backlog:
            return
        client, key = self._channel.session.client, self._channel.session.keys.in_flight
        pause = 0.0005
        while int(client.get(key) or 0) >= self._backlog:
            self._channel.check()
            time.sleep(pause)  # back-pressure only; termination never waits on a timer
            pause = min(pause * 2, 0.02)
        self._known = 0


def run_dynamic_source(channel: Channel, pes: dict[str, GenericPE]) -> None:
    spec = channel.spec
    hosted = instantiate(pes, tuple((pe, 0) for pe in spec.plan.sources))
    transport = _SourceTransport(channel, spec)
    executor = Executor(
        spec.plan,
        hosted,
        transport=transport,
        on_result=channel.reporter.result,
        batch_size=spec.batch_size,
        end_of_stream=False,
        state_copies=spec.state_copies,
    )
    executor.start()
    for pe_id, given in spec.provided.items():
        if (pe_id, 0) not in hosted:
            for block in iter_blocks(given):
                transport.send((pe_id, 0), given_blocks([block]))
    executor.feed(spec.provided)
    executor.flush()
    channel.reporter.done(executor.instance_metrics())
    channel.commit()


class _Worker:
    def __init__(self, channel: Channel, pes: dict[str, GenericPE], slot: int) -> None:
        self.channel = channel
        self.spec = spec = channel.spec
        self.slot = slot
        # What fresh copies are made from after a failed task: the run's own
        # payload (PEs that travelled by value cannot be pickled again here).
        self._blob = spec.payload.blob or pickle.dumps(pes, protocol=5)
        self.hosted = tuple((pe, 0) for pe in spec.stateless) + tuple(
            address for address, owner in spec.pinned_owner.items() if owner == slot
        )
        keys = channel.session.keys
        self.commands = keys.commands(slot)
        self.pinned_streams = [keys.instance(*a) for a in self.hosted if a in spec.pinned_owner]
        self.transport = _TaskTransport(channel, spec)
        self.executor = self._executor(pes)
        self.executor.start()
        self.metrics: dict[Address, Any] = {}
        # Shared tasks read at once: one until tasks proved cheap (SLOW_TASK).
        self.read_count = 1

    def _executor(self, pes: dict[str, GenericPE]) -> Executor:
        return Executor(
            self.spec.plan,
            instantiate(pes, self.hosted),
            transport=self.transport,
            on_result=self.channel.reporter.result,
            batch_size=self.spec.batch_size,
            end_of_stream=False,
            spill=self.transport,
            spill_above=self.spec.spill_above,
            send_by_size=False,
            state_copies=self.spec.state_copies,
        )

    def _rebuild(self) -> None:
        """Fresh PE copies after a failed task (its partial work is dropped)."""
        self.channel.discard()
        for address, metrics in self.executor.instance_metrics().items():
            self.metrics.setdefault(address, metrics.__class__(address[0])).add(metrics)
        self.executor = self._executor(pickle.loads(self._blob))
        self.executor.start()

    def run(self) -> None:
        channel = self.channel
        tasks = channel.session.keys.tasks
        next_claim = time.monotonic() + self.spec.claim_idle / 2
        while True:
            streams = [self.commands, *self.pinned_streams, tasks]
            count = self.read_count
            entries = channel.read(streams, False, count) or channel.read(streams, True, count)
            if not entries and time.monotonic() >= next_claim:
                next_claim = time.monotonic() + min(1.0, self.spec.claim_idle / 2)
                entries = channel.claim(tasks, self.spec.claim_idle)
            data: list[Entry] = []
            leave = ""
            for entry in entries:
                if entry.stream != self.commands:
                    data.append(entry)
                    continue
                command = self._command(entry)
                if command in ("stop", "retire"):
                    leave = command
            if data:
                started = time.perf_counter()
                self._tasks(data)  # read before leaving: done and committed first
                slow = time.perf_counter() - started > SLOW_TASK * len(data)
                self.read_count = 1 if slow else self.spec.read_count
            if leave:
                if leave == "retire":
                    self.executor.close_all()
                self._finish()
                return

    def _command(self, entry: Entry) -> str:
        channel = self.channel
        try:
            _, command, argument = channel.session.codec.decode_pickle(entry.raw)
        except Exception as exc:  # noqa: BLE001 - forged or corrupt: reported
            channel.drop(entry, exc)
            return ""
        channel.session.client.xack(entry.stream, "d4p", entry.id)
        if command == "close":
            self.executor.close(argument)
            self.executor.flush()
            channel.reporter.send(Report.CLOSED, argument)
            channel.commit()
        return str(command)

    def _decode(self, entries: list[Entry]) -> list[tuple[Entry, Address, Any, int]]:
        decoded = []
        for entry in entries:
            try:
                dst, batch, attempt = self.channel.decode_task(entry.raw)
            except Exception as exc:  # noqa: BLE001 - forged or corrupt: reported, never run
                self.channel.drop(entry, exc)
                continue
            decoded.append((entry, dst, batch, attempt))
        return decoded

    def _tasks(self, entries: list[Entry]) -> None:
        """Run and commit what was read. A task that was held by a worker
        that died (it may have killed it) runs alone, after the others are
        committed; any further such task read with it is given back
        unchanged, so a task that kills its worker is the only one to blame
        when this worker dies too. After ``max_deaths`` it is not run again:
        it fails."""
        tasks = self._decode(entries)
        suspects = [task for task in tasks if task[0].deaths]
        if not suspects:
            self._run(tasks)
            return
        suspect, *others = suspects
        if others:
            ids = tuple(task[0].id for task in others)
            self.channel.session.hand_back(self.channel.index, died=False, ids=ids)
        self._run([task for task in tasks if not task[0].deaths])
        deaths = suspect[0].deaths
        if deaths < self.spec.max_deaths:
            self._run([suspect])
            return
        self._give_up(suspect, task_kills_workers(suspect[1], deaths, self.spec.max_deaths))

    def _run(self, tasks: list[tuple[Entry, Address, Any, int]]) -> None:
        if not tasks:
            return
        started, cpu = time.perf_counter(), time.process_time()
        try:
            for _, dst, batch, _ in tasks:
                self.executor.receive(dst, batch)
            self.executor.flush()
        except PEFailure as failure:
            self._rebuild()
            if len(tasks) > 1:
                for task in tasks:  # find the failing one, commit the others
                    self._run([task])
                return
            self._failed(tasks[0], failure)
            return
        took = (time.perf_counter() - started, time.process_time() - cpu)
        self.channel.commit([(t[0][0], t[0][1]) for t in tasks], len(tasks), took)

    def _failed(self, task: tuple[Entry, Address, Any, int], failure: PEFailure) -> None:
        entry, dst, batch, attempt = task
        if attempt + 1 < self.spec.max_attempts:
            channel = self.channel
            channel.add(entry.stream, channel.encode_task(dst, batch, attempt + 1))  # retry
            channel.commit([(entry.stream, entry.id)], 1)
            return
        self._give_up(task, failure.info)

    def _give_up(self, task: tuple[Entry, Address, Any, int], info: FailureInfo) -> None:
        """A task failed for good: dead-lettered, and the run fails or goes
        on (``on_error``)."""
        channel = self.channel
        entry, dst, batch, _ = task
        dead = channel.session.codec.encode_pickle((info, dst, batch))
        channel.add(channel.session.keys.dead, dead, counted=False)
        if self.spec.on_error == "fail":
            channel.reporter.failed(info)
        else:
            channel.notice(DEAD_LETTERED, info)
        channel.commit([(entry.stream, entry.id)], 1)

    def _finish(self) -> None:
        for address, metrics in self.executor.instance_metrics().items():
            self.metrics.setdefault(address, metrics.__class__(address[0])).add(metrics)
        self.channel.reporter.done(self.metrics)
        self.channel.commit()


def run_dynamic_worker(channel: Channel, pes: dict[str, GenericPE], slot: int) -> None:
    _Worker(channel, pes, slot).run()
