"""The one generic multilang runner: every spout and bolt of a d4p topology
runs this program (``python -m``-free: Storm starts it as
``<python> <path of d4p_storm/_entry.py>`` or as the ``d4p-storm-runner``
console script).

It reads the handshake, finds which PE instance it hosts (``d4p.pe`` in the
component conf, its task index among the component's tasks) and how many
end-of-stream markers to expect (one per task of every component that
subscribes it to its ``eos`` stream, from the topology context), loads the
PEs from the job in the conf (:class:`~d4p_core.GraphPayload`: module
paths, main script and pickled PEs) and hands the instance to core's
:class:`~d4p_core.Executor`. The executor routes as on every mapping: it
picks the instance of a shuffled (round robin, item by item) or grouped
(the stable hash of the key) destination; each batch it sends becomes one
emit whose ``key`` field makes Storm's fields grouping deliver it to exactly
that instance's task (:func:`~d4p_storm._streams.task_key`). A broadcast
goes out once (Storm's ``all`` grouping copies it); the end-of-stream
marker is one emit on the consumer's ``eos`` stream. Results, metrics and
failures go to the driver over TCP, and so does what the PE prints
(:mod:`d4p_storm._output`).

After its instance ended (or failed) the runner stays, answering Storm,
until Storm kills it with the topology: exiting would make Storm take the
worker down.

The process Storm starts is the runner's watcher (:mod:`d4p_storm._watcher`):
it reports to the driver how the runner died if a signal killed it.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from d4p_core import Broadcast
from d4p_core.backend import (
    Address,
    Batch,
    BatchingReporter,
    Executor,
    PEFailure,
    Plan,
    Report,
)

from ._codec import decode, encode
from ._job import StormJob
from ._multilang import Channel, StormWentAway
from ._output import OutputRelay, instance_prefix
from ._report import DriverLink
from ._streams import data_stream, eos_stream, keyed, task_key
from ._watcher import Tell, watched

__all__ = ["StormTransport", "TaskContext", "main", "storm_view", "task_context"]

_LAST_REPORTS = frozenset({Report.DONE, Report.FAILED, Report.CRASHED})


class TaskContext:
    """Who this task is, from Storm's topology context."""

    def __init__(self, component: str, index: int, expected_eos: int) -> None:
        self.component = component
        self.index = index
        self.expected_eos = expected_eos


def task_context(context: dict[str, Any]) -> TaskContext:
    """The component, task index and end-of-stream markers to expect."""
    component = str(context["componentid"])
    task_id = int(context["taskid"])
    task_component: dict[str, str] = context["task->component"]
    tasks = sorted(int(t) for t, c in task_component.items() if c == component)
    per_component = Counter(task_component.values())
    marker = eos_stream(component)
    sources: dict[str, dict[str, Any]] = context.get("source->stream->grouping") or {}
    expected = sum(per_component[src] for src, streams in sources.items() if marker in streams)
    return TaskContext(component, tasks.index(task_id), expected)


def storm_view(plan: Plan) -> Plan:
    """``plan`` as a task's executor sees it under Storm: a broadcast
    destination is one destination (Storm's ``all`` grouping makes the
    copies); shuffled and grouped destinations keep their instances, so
    the executor chooses among them as on every mapping."""
    return replace(
        plan,
        routes={
            key: tuple(
                replace(route, dst_instances=1) if isinstance(route.grouping, Broadcast) else route
                for route in routes
            )
            for key, routes in plan.routes.items()
        },
    )


class StormTransport:
    """Turns the executor's batches into Storm emits: one emit per batch,
    keyed for its instance's task on a shuffled or grouped stream."""

    def __init__(self, channel: Channel, plan: Plan, sender: Address) -> None:
        self._channel = channel
        self._marker = [f"{sender[0]}/{sender[1]}"]
        self._streams: dict[tuple[str, str], tuple[str, bool]] = {}
        self._keys: dict[str, list[int]] = {}
        self._last: dict[str, int] = {}
        for routes in plan.routes.values():
            for route in routes:
                self._streams[(route.dst_pe, route.dst_input)] = (
                    data_stream(route.dst_pe, route.dst_input),
                    keyed(route.grouping),
                )
                tasks = plan.instances[route.dst_pe]
                self._keys[route.dst_pe] = [task_key(index, tasks) for index in range(tasks)]
                self._last[route.dst_pe] = tasks - 1

    def send(self, dst: Address, batch: Batch) -> None:
        emit = self._channel.emit
        for input_name, values in batch:
            stream, with_key = self._streams[(dst[0], input_name)]
            if with_key:
                emit(stream, [self._keys[dst[0]][dst[1]], encode(values)])
            else:
                emit(stream, [encode(values)])

    def send_eos(self, dst: Address) -> None:
        # The executor ends every instance of the consumer (after flushing
        # what it buffered for each); Storm's ``all`` grouping delivers one
        # marker to every task, sent after the last instance's data.
        if dst[1] == self._last[dst[0]]:
            self._channel.emit(eos_stream(dst[0]), self._marker)


class _Runner:
    def __init__(
        self,
        channel: Channel,
        job: StormJob,
        task: TaskContext,
        spout: bool,
        tell: Tell,
        output: OutputRelay,
        started: float | None = None,
    ) -> None:
        self.channel = channel
        self.started = started  # time.monotonic() when Storm started the task
        self.tell = tell
        self.output = output
        self.job = job
        self.task = task
        self.spout = spout
        self.address: Address = (task.component, task.index)
        self.reporter: BatchingReporter  # once connected to the driver, in run()
        self.owes_sync = False  # a spout answers every command with sync
        plan = job.plan
        pe_id = task.component
        if pe_id not in plan.instances:
            raise RuntimeError(f"component {pe_id!r} is not a PE of the plan")
        if task.expected_eos != plan.eos_expected[pe_id]:
            raise RuntimeError(
                f"{pe_id}: the topology subscribes {task.expected_eos} end-of-stream "
                f"senders, the plan {plan.eos_expected[pe_id]}"
            )
        self.inputs: dict[str, str] = {}
        for routes in plan.routes.values():
            for route in routes:
                if route.dst_pe == pe_id:
                    self.inputs[data_stream(pe_id, route.dst_input)] = route.dst_input
        self.eos = eos_stream(pe_id)

    def run(self) -> None:
        link: DriverLink | _StormLog
        try:
            if self.job.driver is not None:
                alive = None if self.started is None else time.monotonic() - self.started
                link = DriverLink(self.job.driver, self.job.token, self.address, alive)
                self.tell(self.job.driver, self.job.token, self.address)
            else:
                link = _StormLog(self.channel)
        except OSError as exc:
            self._tell_storm(f"cannot reach the d4p driver at {self.job.driver}: {exc}")
            raise
        self.output.start(link.output)

        def send(kind: Report, payload: Any) -> None:
            if kind in _LAST_REPORTS:  # what the PE printed arrives first
                self.output.drain()
            link.send(kind, payload)

        self.reporter = BatchingReporter(send)
        try:
            self._host()
        except PEFailure as failure:
            self.reporter.failed(failure.info)
        except StormWentAway:
            raise
        except BaseException as exc:  # noqa: BLE001 - reported to the driver
            self.reporter.crashed(exc)
        link.close()
        if self.owes_sync:
            self.channel.sync()
        self.idle()

    def _host(self) -> None:
        job, pe_id = self.job, self.task.component
        pes = job.payload.load()
        view = storm_view(job.plan)
        reporter = self.reporter
        executor = Executor(
            view,
            {self.address: pes[pe_id]},
            transport=StormTransport(self.channel, view, self.address),
            on_result=reporter.result,
            batch_size=job.batch_size,
            on_progress=reporter.progress if job.report_progress else None,
        )
        executor.start()
        provided = {pe_id: job.provided[pe_id]} if pe_id in job.provided else {}
        if self.spout:
            self._wait_for_next()
            self.owes_sync = True
            executor.feed(provided if self.task.index == 0 else {})
            executor.flush()
        else:
            if self.task.index == 0 and provided:
                executor.feed(provided)
            executor.serve(self._next_message)
        reporter.done(executor.instance_metrics())
        if self.owes_sync:
            self.owes_sync = False
            self.channel.sync()
        self.channel.flush()

    def _wait_for_next(self) -> None:
        """Spouts may emit only while Storm waits for their answer to
        ``next``: run the source then (answering other commands)."""
        while True:
            message = self.channel.read()
            if message.get("command") == "next":
                return
            self.channel.sync()
            self.channel.flush()

    def _next_message(self, before_wait: Callable[[], None]) -> tuple[Address, Any]:
        channel = self.channel
        while True:
            if not channel.ready():
                before_wait()
                self.reporter.flush()
                channel.flush()
            message = channel.read()
            stream = message.get("stream")
            if stream == "__heartbeat":
                channel.sync()
                continue
            if "id" in message:
                channel.ack(message["id"])
            if stream == self.eos:
                return self.address, None
            input_name = self.inputs.get(str(stream))
            if input_name is None:
                continue  # Storm's own streams (ticks)
            values = decode(message["tuple"][-1])
            return self.address, [(input_name, list(values))]

    def idle(self) -> None:
        """Answer Storm until it ends this process."""
        channel = self.channel
        while True:
            channel.flush()
            message = channel.read()
            if self.spout or message.get("stream") == "__heartbeat":
                channel.sync()
            elif "id" in message:
                channel.ack(message["id"])

    def _tell_storm(self, text: str) -> None:
        self.channel.send({"command": "error", "msg": f"d4p: {text}"})
        self.channel.flush()


class _StormLog:
    """No driver (a Flux topology submitted by hand): the reports go to
    Storm's log, a failure or crash as a Storm error; so does what the PE
    prints."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    def send(self, kind: Report, payload: Any) -> None:
        if kind is Report.RESULTS:
            for pe_id, output, value in payload:
                self._channel.log(f"d4p result {pe_id}.{output}: {value!r}")
        elif kind is Report.FAILED:
            self._channel.send({"command": "error", "msg": f"d4p: {payload.message()}"})
        elif kind is Report.CRASHED:
            self._channel.send({"command": "error", "msg": f"d4p: {payload}"})
        elif kind is not Report.PROGRESS:
            self._channel.log(f"d4p {kind.value}")

    def output(self, lines: str) -> None:
        self._channel.log(lines)
        self._channel.flush()

    def close(self) -> None:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run one Storm task (spout or bolt) of a d4p topology, watched."""
    started = time.monotonic()  # the task counts from here (RunResult.process_seconds)
    return watched(functools.partial(_task, started=started))


def _task(tell: Tell, started: float | None = None) -> int:
    channel = Channel(os.dup(0), os.dup(1))
    try:
        handshake = channel.read()
    except StormWentAway:
        return 2
    pid = os.getpid()
    with open(os.path.join(handshake["pidDir"], str(pid)), "w", encoding="utf-8"):
        pass
    channel.send({"pid": pid})
    channel.flush()
    try:
        conf: dict[str, Any] = handshake["conf"]
        context: dict[str, Any] = handshake["context"]
        task = task_context(context)
        job = StormJob.from_conf(conf)
        output = OutputRelay(instance_prefix(task.component, task.index))
        spout = task.component in job.plan.sources
        runner = _Runner(channel, job, task, spout, tell, output, started)
    except Exception as exc:  # noqa: BLE001 - Storm reports it
        channel.send({"command": "error", "msg": f"d4p runner: {type(exc).__name__}: {exc}"})
        channel.flush()
        _idle_forever(channel)
        return 1
    try:
        runner.run()
    except StormWentAway:
        return 0
    except OSError:
        _idle_forever(channel)
        return 1
    return 0


def _idle_forever(channel: Channel) -> None:
    try:
        while True:
            message = channel.read()
            if "command" in message or message.get("stream") == "__heartbeat":
                channel.sync()
            elif "id" in message:
                channel.ack(message["id"])
            channel.flush()
    except StormWentAway:
        return


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
