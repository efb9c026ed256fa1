"""The ``multi`` mapping: fixed assignment of PE instances to OS processes.

The plan sizes the instances; :func:`~d4p_core.planning.placement.place` puts them on
processes (fusing chains when there are fewer processes than instances). Each
worker runs the shared :class:`~d4p_core.runtime.engine.Executor` for its instances;
batches move over one bounded ``multiprocessing`` queue per worker, so a fast
producer is held back by a slow consumer.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..inputs import InputSpec
from ..planning.placement import Fuse
from ..planning.plan import Plan
from ..runtime.engine import Executor, instantiate
from ..runtime.payload import GraphPayload
from ..runtime.transport import Address, Batch
from ._workers import WorkerGroup, blocking_get, blocking_put, guarded_worker, queue_reporter
from .base import FixedPlacementMapping, PlacedRun, RunOutcome
from .options import check_process_options, fuse_option, option, start_method_option

__all__ = ["MultiMapping", "MultiOptions"]


@dataclass(frozen=True)
class MultiOptions:
    """Options of ``multi``.

    ``processes``: worker processes (default: CPU count); ``start_method``:
    multiprocessing start method (default: the platform's); ``batch_size``:
    items per message; ``queue_size``: messages buffered per worker before
    senders wait; ``fuse``: ``auto`` (fuse chains only when processes are
    fewer than instances), ``always`` or ``never``.
    """

    processes: int | None = None
    start_method: str | None = start_method_option()
    batch_size: int = option(256, "items per message")
    queue_size: int = option(16, "messages buffered per worker before senders wait")
    fuse: Fuse = fuse_option()

    def __post_init__(self) -> None:
        check_process_options(
            self.processes,
            self.start_method,
            batch_size=self.batch_size,
            fuse=self.fuse,
            queue_size=self.queue_size,
        )


class _QueueTransport:
    """Sends batches to the inbox of the worker that hosts the destination."""

    def __init__(
        self,
        inboxes: list[multiprocessing.queues.Queue[Any]],
        owner: dict[Address, int],
        abort: Any,
    ) -> None:
        self._inboxes = inboxes
        self._owner = owner
        self._abort = abort

    def send(self, dst: Address, batch: Batch) -> None:
        blocking_put(self._inboxes[self._owner[dst]], (dst, batch), self._abort)

    def send_eos(self, dst: Address) -> None:
        blocking_put(self._inboxes[self._owner[dst]], (dst, None), self._abort)


@dataclass(frozen=True)
class _WorkerSpec:
    index: int
    hosted: tuple[Address, ...]
    provided: dict[str, InputSpec]
    plan: Plan
    owner: dict[Address, int]
    payload: GraphPayload
    batch_size: int
    report_progress: bool


def _worker_main(
    report_id: int,
    spec: _WorkerSpec,
    inboxes: list[multiprocessing.queues.Queue[Any]],
    control: multiprocessing.queues.Queue[Any],
    abort: Any,
) -> None:
    reporter = queue_reporter(control, report_id, abort)

    def body() -> None:
        pes = spec.payload.load()
        executor = Executor(
            spec.plan,
            instantiate(pes, spec.hosted),
            transport=_QueueTransport(inboxes, spec.owner, abort),
            on_result=reporter.result,
            batch_size=spec.batch_size,
            on_progress=reporter.progress if spec.report_progress else None,
        )
        executor.start()
        executor.feed(spec.provided)
        inbox = inboxes[spec.index]

        def next_message(before_wait: Callable[[], None]) -> tuple[Address, Any]:
            try:
                message: tuple[Address, Any] = inbox.get_nowait()
            except queue.Empty:
                before_wait()
                reporter.flush()
                message = blocking_get(inbox, abort)
            return message

        executor.serve(next_message)
        reporter.done(executor.instance_metrics())

    guarded_worker(reporter, inboxes, control, body)


class MultiMapping(FixedPlacementMapping[MultiOptions]):
    """Fixed assignment of PE instances to processes (dispel4py ``multi``)."""

    name: ClassVar[str] = "multi"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "one process per PE instance (or fused chain) on this machine"
    options_class: ClassVar[type[MultiOptions]] = MultiOptions

    def execute(self, placed: PlacedRun, options: MultiOptions) -> RunOutcome:
        context = multiprocessing.get_context(options.start_method)
        payload = GraphPayload.create(placed.flat.by_id(), self.name, context.get_start_method())
        inboxes = [context.Queue(maxsize=options.queue_size) for _ in placed.partitions]
        group = WorkerGroup(
            context,
            _worker_main,
            describe=lambda i: f"worker {i} ({placed.describe_partition(i)})",
        )
        specs = [
            _WorkerSpec(
                index=index,
                hosted=block,
                provided=placed.provided_for(index),
                plan=placed.plan,
                owner=placed.owner,
                payload=payload,
                batch_size=options.batch_size,
                report_progress=group.sink.wants_progress,
            )
            for index, block in enumerate(placed.partitions)
        ]
        try:
            for spec in specs:
                group.start(spec.index, spec, inboxes)
            group.run()
        except BaseException:
            group.abort_all()
            raise
        finally:
            for inbox in inboxes:
                inbox.close()
                inbox.cancel_join_thread()
        return RunOutcome(
            group.sink.outputs,
            group.sink.metrics,
            process_seconds=group.processes.process_seconds(),
        )
