"""The ``multi`` mapping: fixed assignment of PE instances to OS processes.

The plan sizes the instances; :func:`~d4p_core.planning.placement.place` puts them on
processes (fusing chains when there are fewer processes than instances). Each
worker runs the shared :class:`~d4p_core.runtime.engine.Executor` for its instances;
batches move over one bounded ``multiprocessing`` queue per worker, so a fast
producer is held back by a slow consumer.
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.queues
import os
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import D4pError
from ..inputs import Inputs, InputSpec, resolve_inputs
from ..model.graph import WorkflowGraph
from ..planning.placement import Fuse, place
from ..planning.plan import Plan
from ..runtime.engine import Address, Batch, Executor, instantiate
from ..runtime.progress import ProgressTotals, progress_listener
from ..runtime.result import Outputs, PEMetrics, RunResult, merge_metrics
from ..runtime.supervision import (
    ControlReporter,
    GraphPayload,
    WorkerGroup,
    add_process_arguments,
    blocking_get,
    blocking_put,
    check_process_options,
    guarded_worker,
)

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
    start_method: str | None = None
    batch_size: int = 256
    queue_size: int = 16
    fuse: Fuse = "auto"

    def __post_init__(self) -> None:
        check_process_options(
            self.processes,
            self.start_method,
            batch_size=self.batch_size,
            queue_size=self.queue_size,
        )
        if self.fuse not in ("auto", "always", "never"):
            raise D4pError(f"fuse must be auto, always or never, not {self.fuse!r}")


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
    spec: _WorkerSpec,
    inboxes: list[multiprocessing.queues.Queue[Any]],
    control: multiprocessing.queues.Queue[Any],
    abort: Any,
) -> None:
    reporter = ControlReporter(control, spec.index, abort)

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
        reporter.send("done", executor.instance_metrics())

    guarded_worker(reporter, inboxes, body)


def _context(start_method: str | None) -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context(start_method)


class MultiMapping:
    """Fixed assignment of PE instances to processes (dispel4py ``multi``)."""

    name: ClassVar[str] = "multi"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "one process per PE instance (or fused chain) on this machine"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_process_arguments(parser, batch_size=256, queue_size=16, unit="message")
        parser.add_argument(
            "--fuse",
            choices=("auto", "always", "never"),
            default="auto",
            help="fuse chains of PEs into one process (auto: when processes are too few)",
        )

    def options_from_args(self, args: argparse.Namespace) -> MultiOptions:
        return MultiOptions(
            processes=getattr(args, "processes", None),
            start_method=args.start_method,
            batch_size=args.batch_size,
            queue_size=args.queue_size,
            fuse=args.fuse,
        )

    def options_from_kwargs(self, processes: int | None, **kwargs: Any) -> MultiOptions:
        try:
            return MultiOptions(processes=processes, **kwargs)
        except TypeError as exc:
            raise D4pError(f"invalid option for multi: {exc}") from None

    def check(self, plan: Plan) -> None:
        pass

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: MultiOptions) -> RunResult:
        started = time.perf_counter()
        processes = options.processes or os.cpu_count() or 1
        flat = graph.flat()
        plan = Plan.build(flat, max(processes, Plan.minimum_processes(flat)))
        self.check(plan)
        blocks = place(plan, processes, options.fuse)
        provided = resolve_inputs(flat, inputs, plan.sources)
        context = _context(options.start_method)
        payload = GraphPayload.create(flat.by_id(), context.get_start_method())
        owner = {address: index for index, block in enumerate(blocks) for address in block}
        listener = progress_listener()
        inboxes = [context.Queue(maxsize=options.queue_size) for _ in blocks]
        specs = [
            _WorkerSpec(
                index=index,
                hosted=block,
                provided={pe: spec for pe, spec in provided.items() if (pe, 0) in block},
                plan=plan,
                owner=owner,
                payload=payload,
                batch_size=options.batch_size,
                report_progress=listener is not None,
            )
            for index, block in enumerate(blocks)
        ]
        group = WorkerGroup(
            context,
            _worker_main,
            [(spec, inboxes) for spec in specs],
            describe=lambda i: "hosting " + ", ".join(f"{pe}[{n}]" for pe, n in blocks[i]),
        )
        outputs: Outputs = {}
        per_instance: dict[Address, PEMetrics] = {}

        def on_done(index: int, metrics: dict[Address, PEMetrics]) -> None:
            per_instance.update(metrics)

        totals = ProgressTotals(listener) if listener is not None else None

        def on_message(kind: str, index: int, counts: Any) -> None:
            if kind == "progress" and totals is not None:
                totals.update(index, counts)

        try:
            group.run(outputs, on_done, on_message)
        finally:
            for inbox in inboxes:
                inbox.close()
                inbox.cancel_join_thread()
        instance_metrics: dict[str, dict[int, PEMetrics]] = {}
        for (pe_id, index), metrics in sorted(per_instance.items()):
            instance_metrics.setdefault(pe_id, {})[index] = metrics
        return RunResult(
            mapping=self.name,
            outputs=outputs,
            metrics=merge_metrics({a[0]: m} for a, m in per_instance.items()),
            instance_metrics=instance_metrics,
            elapsed_seconds=time.perf_counter() - started,
            extra={"placement": [list(block) for block in blocks]},
        )
