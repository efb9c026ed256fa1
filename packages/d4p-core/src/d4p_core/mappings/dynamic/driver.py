"""Coordinator of the dynamic mappings: starts the source process and the
workers, and ends the run exactly.

When the sources are done and nothing is in flight, the PEs are closed one
at a time in topological order: every worker runs ``postprocess`` on its copy
(or pinned instance), whatever that writes is processed, and only when the
run is quiescent again is the next PE closed. Then the workers stop.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass, field

from ...errors import D4pError, UnsupportedGraphError
from ...inputs import Inputs, resolve_inputs
from ...model.graph import WorkflowGraph
from ...planning.plan import Plan
from ...runtime.engine import Address
from ...runtime.progress import ProgressTotals, progress_listener
from ...runtime.result import Outputs, PEMetrics, RunResult, merge_metrics
from ...runtime.supervision import GraphPayload, WorkerGroup, check_process_options
from .autoscale import AutoscalePolicy
from .coordinator import DynamicCoordinator
from .worker import DynamicWorkerSpec, dynamic_worker_main

__all__ = ["DynamicOptions", "dynamic_plan", "run_dynamic"]


@dataclass(frozen=True)
class DynamicOptions:
    """Options of the dynamic mappings.

    ``processes``: worker processes (default: CPU count); the sources run in
    one more process, which mostly waits on the bounded queue, so ``-n``
    equal to the number of cores keeps every core on PE work; ``batch_size``:
    the fewest items per task (tasks of cheap items grow, up to 64 times
    that, to take about 5 ms each); ``queue_size``: tasks buffered in the shared queue (and
    per inbox) before senders wait;
    ``spill_above``: a worker's local backlog beyond which it hands work to
    others; ``min_workers``/``max_workers``/``policy``: autoscaling only.
    """

    processes: int | None = None
    start_method: str | None = None
    batch_size: int = 16
    queue_size: int = 64
    spill_above: int = 256
    min_workers: int | None = None
    max_workers: int | None = None
    policy: AutoscalePolicy | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check_process_options(
            self.processes,
            self.start_method,
            batch_size=self.batch_size,
            queue_size=self.queue_size,
            spill_above=self.spill_above,
        )
        for name in ("min_workers", "max_workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise D4pError(f"{name} must be at least 1, not {value}")


def refuse_stateful(plan: Plan, mapping: str) -> None:
    """Raise UnsupportedGraphError naming the PEs that keep state."""
    stateful = [pe for pe in plan.pe_ids if pe in plan.stateful and pe not in plan.sources]
    if not stateful:
        return
    reasons = []
    for pe_id in stateful:
        groupings = {
            f"{route.dst_input}: {route.grouping}"
            for routes in plan.routes.values()
            for route in routes
            if route.dst_pe == pe_id and str(route.grouping) != "shuffle"
        }
        reasons.append(f"{pe_id} ({', '.join(sorted(groupings)) or 'stateful = True'})")
    family = mapping.rsplit("_", 1)[-1]  # dyn_auto_redis -> redis
    raise UnsupportedGraphError(
        f"{mapping} runs only stateless PEs, but these keep state: {'; '.join(reasons)}. "
        f"Use '{family}' or 'hybrid_{family}', which give each stateful PE fixed instances"
    )


def dynamic_plan(graph: WorkflowGraph, mapping: str, *, pinned: bool) -> Plan:
    """One logical instance per stateless PE; stateful PEs refused, or (with
    ``pinned``) given their declared number of instances."""
    flat = graph.flat()
    probe = Plan.build(flat)
    if not pinned:
        refuse_stateful(probe, mapping)
    pes = flat.by_id()
    counts = {
        pe_id: max(1, int(getattr(pes[pe_id], "numprocesses", 1) or 1))
        for pe_id in probe.pe_ids
        if pe_id in probe.stateful and pe_id not in probe.sources
    }
    return Plan.build(flat, instances=counts)


def run_dynamic(
    mapping: str,
    graph: WorkflowGraph,
    inputs: Inputs,
    options: DynamicOptions,
    *,
    pinned: bool,
    autoscale: AutoscalePolicy | None,
) -> RunResult:
    started = time.perf_counter()
    plan = dynamic_plan(graph, mapping, pinned=pinned)
    flat = graph.flat()
    provided = resolve_inputs(flat, inputs, plan.sources)
    workers = options.processes or os.cpu_count() or 1
    max_workers = options.max_workers if options.max_workers is not None else workers
    min_workers = options.min_workers if options.min_workers is not None else 1
    if min_workers > max_workers:
        raise D4pError(
            f"min_workers ({min_workers}) is more than the workers available ({max_workers})"
        )
    workers = max_workers

    stateless = [pe for pe in plan.pe_ids if pe not in plan.sources and pe not in plan.stateful]
    pinned_instances = [
        (pe, i)
        for pe in plan.pe_ids
        if pe in plan.stateful and pe not in plan.sources
        for i in range(plan.instances[pe])
    ]
    pinned_owner: dict[Address, int] = {
        address: n % workers for n, address in enumerate(pinned_instances)
    }
    context = multiprocessing.get_context(options.start_method)
    payload = GraphPayload.create(flat.by_id(), context.get_start_method())
    initial = autoscale.initial(min_workers, max_workers) if autoscale else workers
    listener = progress_listener()
    totals = ProgressTotals(listener) if listener is not None else None
    specs = [
        DynamicWorkerSpec(
            index=w,
            role="worker",
            hosted=tuple((pe, 0) for pe in stateless)
            + tuple(a for a, owner in pinned_owner.items() if owner == w),
            provided={},
            plan=plan,
            pinned_owner=pinned_owner,
            payload=payload,
            batch_size=options.batch_size,
            spill_above=options.spill_above,
            start_active=w < initial,
            report_progress=listener is not None,
        )
        for w in range(workers)
    ]
    specs.append(
        DynamicWorkerSpec(
            index=workers,
            role="source",
            hosted=tuple((pe, 0) for pe in plan.sources),
            provided=provided,
            plan=plan,
            pinned_owner=pinned_owner,
            payload=payload,
            batch_size=options.batch_size,
            spill_above=options.spill_above,
            start_active=True,
            report_progress=listener is not None,
        )
    )
    shared = context.Queue(maxsize=options.queue_size)
    inboxes = [context.Queue(maxsize=options.queue_size) for _ in range(workers)]
    in_flight = context.Value("q", 0)
    completed = context.Value("q", 0, lock=False)  # guarded by in_flight's lock
    item_cost = context.Value("d", 0.0, lock=False)  # seconds per item, see _TaskSizer
    group = WorkerGroup(
        context,
        dynamic_worker_main,
        [(spec, shared, inboxes, in_flight, completed, item_cost) for spec in specs],
        describe=lambda i: "the sources" if i == workers else f"worker {i}",
    )
    coordinator = DynamicCoordinator(
        plan,
        workers,
        in_flight=lambda: int(in_flight.value),
        completed=lambda: int(completed.value),
        send=lambda worker, command: group.send(inboxes[worker], command),
        policy=autoscale,
        min_workers=min_workers,
        initial=initial,
    )
    outputs: Outputs = {}
    try:
        group.run(
            outputs,
            coordinator.on_done,
            lambda kind, index, payload: (
                totals.update(index, payload)
                if kind == "progress" and totals is not None
                else coordinator.on_message(kind, index, payload)
            ),
            coordinator.on_tick,
            poll=autoscale.interval if autoscale else 0.2,
        )
    finally:
        for q in [shared, *inboxes]:
            q.close()
            q.cancel_join_thread()
    makespan = time.perf_counter() - started
    per_instance = coordinator.instance_metrics
    return RunResult(
        mapping=mapping,
        outputs=outputs,
        metrics=merge_metrics({pe: m} for (pe, _), m in per_instance),
        instance_metrics=_by_instance(per_instance),
        elapsed_seconds=makespan,
        extra={
            "workers": workers,
            "worker_seconds": coordinator.worker_seconds(),
            "autoscaling": [vars(d) for d in coordinator.decisions],
            "pinned": {f"{pe}[{i}]": owner for (pe, i), owner in pinned_owner.items()},
        },
    )


def _by_instance(items: list[tuple[Address, PEMetrics]]) -> dict[str, dict[int, PEMetrics]]:
    # Stateless PEs run one copy per worker: number the copies per PE.
    result: dict[str, dict[int, PEMetrics]] = {}
    for (pe_id, _), metrics in items:
        copies = result.setdefault(pe_id, {})
        copies[len(copies)] = metrics
    return result
