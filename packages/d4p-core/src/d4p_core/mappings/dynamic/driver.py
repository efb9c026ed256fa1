"""The local dynamic mappings' run: starts the source process and the
workers, each with a pipe to the driver's task broker (:mod:`.broker`), and
ends the run exactly.

When the sources are done and nothing is in flight, the PEs are closed one
at a time in topological order: every worker runs ``postprocess`` on its copy
(or pinned instance), whatever that writes is processed, and only when the
run is quiescent again is the next PE closed. Then the workers stop.
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass

from ...errors import D4pError
from ...runtime.payload import GraphPayload
from .._workers import WorkerGroup
from ..base import RunOutcome
from ..options import check_process_options, option, start_method_option
from .autoscale import AutoscalePolicy
from .base import DynamicLayout, DynamicRun
from .broker import TaskBroker
from .coordinator import DynamicCoordinator
from .worker import DynamicWorkerSpec, dynamic_worker_main

__all__ = ["DynamicOptions", "run_local"]


@dataclass(frozen=True)
class DynamicOptions:
    """Options of the dynamic mappings.

    ``processes``: worker processes (default: CPU count); the sources run in
    one more process, which mostly waits for room in the queue, so ``-n``
    equal to the number of cores keeps every core on PE work; ``batch_size``:
    the fewest items per task (tasks of cheap items grow, up to 64 times
    that, to take about 5 ms each); ``queue_size``: tasks queued in the
    driver before the sources wait; ``spill_above``: a
    worker's local backlog beyond which it hands work to others;
    ``max_deaths``: how many worker processes may die holding one task before
    the run fails (a killed worker's tasks go to the others, see
    :mod:`.broker`); ``min_workers``/``max_workers``/``policy``: autoscaling
    only.
    """

    processes: int | None = None
    start_method: str | None = start_method_option()
    batch_size: int = option(16, "the fewest items per task")
    queue_size: int = option(64, "tasks queued before the sources wait")
    spill_above: int = option(256, "a worker's backlog beyond which it hands work to others")
    max_deaths: int = option(3, "worker deaths holding one task before the run fails")
    min_workers: int | None = option(None, "fewest active workers (1)")
    max_workers: int | None = option(None, "most active workers (-n)")
    policy: AutoscalePolicy | None = None

    def __post_init__(self) -> None:
        check_process_options(
            self.processes,
            self.start_method,
            batch_size=self.batch_size,
            queue_size=self.queue_size,
            spill_above=self.spill_above,
        )
        for name in ("min_workers", "max_workers", "max_deaths"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise D4pError(f"{name} must be at least 1, not {value}")


def run_local(mapping: str, work: DynamicRun, options: DynamicOptions) -> RunOutcome:
    """Run ``work`` on worker processes of this machine, fed by the driver's
    task broker."""
    plan, autoscale = work.plan, work.policy
    workers = options.processes or os.cpu_count() or 1
    max_workers = options.max_workers if options.max_workers is not None else workers
    min_workers = options.min_workers if options.min_workers is not None else 1
    if min_workers > max_workers:
        raise D4pError(
            f"min_workers ({min_workers}) is more than the workers available ({max_workers})"
        )
    workers = max_workers
    layout = DynamicLayout.build(plan, workers)
    context = multiprocessing.get_context(options.start_method)
    payload = GraphPayload.create(work.flat.by_id(), mapping, context.get_start_method())
    group = WorkerGroup(
        context,
        dynamic_worker_main,
        describe=lambda slot: "the sources" if slot == workers else f"worker {slot}",
    )
    broker = TaskBroker(
        group,
        context,
        queue_size=options.queue_size,
        max_deaths=options.max_deaths,
        slots=workers,
    )
    item_cost = context.Value("d", 0.0, lock=False)  # seconds per item, shared by all

    def spec(index: int, role: str, hosted: tuple[tuple[str, int], ...]) -> DynamicWorkerSpec:
        return DynamicWorkerSpec(
            index=index,
            role=role,
            hosted=hosted,
            provided=work.provided if role == "source" else {},
            plan=plan,
            pinned_owner=layout.pinned_owner,
            payload=payload,
            batch_size=options.batch_size,
            spill_above=options.spill_above,
            report_progress=group.sink.wants_progress,
            state_copies=layout.stateless if workers > 1 else (),
        )

    def start_worker(slot: int) -> None:
        broker.start(spec(slot, "worker", layout.hosted_by(slot)), item_cost)

    # Elastic (dyn_auto_multi): only the initial workers start now; the
    # coordinator starts and retires the others as the policy decides.
    initial = autoscale.initial(min_workers, max_workers) if autoscale else workers
    coordinator = DynamicCoordinator(
        plan,
        workers,
        in_flight=broker.in_flight,
        completed=lambda: broker.completed,
        send=broker.send,
        policy=autoscale,
        min_workers=min_workers,
        initial=initial,
        start=start_worker if autoscale else None,
        task_time=broker.task_time,
    )
    try:
        broker.start(spec(workers, "source", tuple((pe, 0) for pe in plan.sources)), item_cost)
        for slot in range(initial):
            start_worker(slot)
        broker.run(coordinator, poll=autoscale.interval if autoscale else 0.2)
    except BaseException:
        broker.abort()  # also when a start failed, before run() supervised
        raise
    return RunOutcome(
        group.sink.outputs,
        group.sink.metrics,
        extra={
            **coordinator.summary(),
            "processes_started": len(group.slot_of),
            "pinned": layout.describe(),
        },
        process_seconds=group.processes.process_seconds(),
    )
