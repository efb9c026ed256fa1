"""The ``simple`` mapping: the whole graph in this process, one instance per
PE, streaming item by item. It is the reference every mapping is compared with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from ..inputs import Inputs, resolve_inputs
from ..model.graph import WorkflowGraph
from ..planning.plan import Plan
from ..runtime.engine import Executor, PEFailure, instantiate
from ..runtime.progress import progress_listener
from ..runtime.result import Outputs, RunResult
from ..runtime.streaming import result_callback
from .base import MappingBase

__all__ = ["SimpleMapping", "SimpleOptions"]


@dataclass(frozen=True)
class SimpleOptions:
    """``simple`` has no options (``processes`` is accepted and ignored)."""


class SimpleMapping(MappingBase[SimpleOptions]):
    name: ClassVar[str] = "simple"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "sequential, in this process, one instance per PE (the reference)"
    options_class: ClassVar[type[SimpleOptions]] = SimpleOptions

    def plan(self, graph: WorkflowGraph, options: SimpleOptions) -> Plan:
        plan = Plan.build(graph)  # one instance per PE, whatever -n says
        self.check(plan)
        return plan

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: SimpleOptions) -> RunResult:
        started = time.perf_counter()
        flat = graph.flat()
        plan = Plan.build(flat)
        provided = resolve_inputs(flat, inputs, plan.sources)
        outputs: Outputs = {}
        on_result = result_callback()

        def collect(pe_id: str, output: str, values: list[Any]) -> None:
            if on_result is None:
                outputs.setdefault(pe_id, {}).setdefault(output, []).extend(values)
                return
            for value in values:
                on_result(pe_id, output, value)

        executor = Executor(
            plan,
            instantiate(flat.by_id(), [(pe_id, 0) for pe_id in plan.pe_ids]),
            on_results=collect,
            on_progress=progress_listener(),
        )
        try:
            executor.start()
            executor.feed(provided)
        except PEFailure as failure:
            raise failure.info.to_error() from None
        assert executor.done, "simple: every instance must have ended"
        executor.report_progress()
        elapsed = time.perf_counter() - started
        return RunResult(
            mapping=self.name,
            outputs=outputs,
            metrics=executor.metrics(),
            elapsed_seconds=elapsed,
            process_seconds=elapsed,  # one process, this one, for the whole run
        )
