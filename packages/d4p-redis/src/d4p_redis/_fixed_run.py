"""Driver of the fixed ``redis`` mapping: core's plan and placement decide
which process hosts which PE instances (as for ``multi``); every instance
reads its own stream."""

from __future__ import annotations

import os
import time

from d4p_core import Inputs, PEMetrics, RunError, RunResult, WorkflowGraph
from d4p_core.backend import Address, Plan, merge_metrics, place, resolve_inputs

from ._driver import graph_payload, open_run
from ._options import RedisOptions
from ._session import RunSpec, fingerprint

__all__ = ["run_fixed"]


def run_fixed(graph: WorkflowGraph, inputs: Inputs, options: RedisOptions) -> RunResult:
    started = time.perf_counter()
    processes = options.processes or os.cpu_count() or 1
    flat = graph.flat()
    plan = Plan.build(flat, max(processes, Plan.minimum_processes(flat)))
    blocks = place(plan, processes, options.fuse)
    provided = resolve_inputs(flat, inputs, plan.sources)
    pes = flat.by_id()
    spec = RunSpec(
        mapping="redis",
        kind="fixed",
        plan=plan,
        payload=graph_payload(pes),
        fingerprint=fingerprint(pes, plan),
        serializer=options.serializer,
        batch_size=options.batch_size or 256,
        read_count=options.read_count,
        backlog=options.backlog,
        blocks=tuple(tuple(block) for block in blocks),
        provided=provided,
    )
    per_instance: dict[Address, PEMetrics] = {}
    with open_run(options) as driver:
        for block in blocks:
            for address in block:
                driver.session.create_group(driver.keys.instance(*address))
        driver.publish(spec)
        for index in range(len(blocks)):
            driver.start("fixed", index)
        finished: set[int] = set()
        while len(finished) < len(blocks):
            for kind, index, payload in driver.reports():
                if kind == "done":
                    finished.add(index)
                    per_instance.update(payload)
            for index, how in driver.dead_processes():
                if index not in finished:
                    hosted = ", ".join(f"{pe}[{n}]" for pe, n in blocks[index])
                    raise RunError(f"worker {index} (hosting {hosted}) {how} before finishing")
        outputs, rejected, run_id = driver.outputs, driver.rejected, driver.keys.run_id
    instance_metrics: dict[str, dict[int, PEMetrics]] = {}
    for (pe_id, index), metrics in sorted(per_instance.items()):
        instance_metrics.setdefault(pe_id, {})[index] = metrics
    return RunResult(
        mapping="redis",
        outputs=outputs,
        metrics=merge_metrics({a[0]: m} for a, m in per_instance.items()),
        instance_metrics=instance_metrics,
        elapsed_seconds=time.perf_counter() - started,
        extra={
            "run_id": run_id,
            "placement": [list(block) for block in blocks],
            "rejected_messages": rejected,
        },
    )
