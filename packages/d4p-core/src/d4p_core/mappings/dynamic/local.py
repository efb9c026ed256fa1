"""The dynamic multiprocessing mappings: ``dyn_multi``, ``dyn_auto_multi``
and ``hybrid_multi``. They share one coordinator and worker
(:mod:`d4p_core.mappings.dynamic.driver`, :mod:`d4p_core.mappings.dynamic.worker`)."""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from ...errors import D4pError
from ...inputs import Inputs
from ...model.graph import WorkflowGraph
from ...planning.plan import Plan
from ...runtime.result import RunResult
from ...runtime.supervision import add_process_arguments
from .autoscale import BacklogPolicy
from .driver import DynamicOptions, dynamic_plan, refuse_stateful, run_dynamic

__all__ = ["DynAutoMultiMapping", "DynMultiMapping", "DynamicOptions", "HybridMultiMapping"]


class _DynamicBase:
    name: ClassVar[str]
    supports_stateful: ClassVar[bool] = False
    description: ClassVar[str]
    _pinned: ClassVar[bool] = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_process_arguments(parser, batch_size=16, queue_size=64, unit="task")

    def _options(self, args: argparse.Namespace, **extra: Any) -> DynamicOptions:
        return DynamicOptions(
            processes=getattr(args, "processes", None),
            start_method=args.start_method,
            batch_size=args.batch_size,
            queue_size=args.queue_size,
            **extra,
        )

    def options_from_args(self, args: argparse.Namespace) -> DynamicOptions:
        return self._options(args)

    def options_from_kwargs(self, processes: int | None, **kwargs: Any) -> DynamicOptions:
        try:
            return DynamicOptions(processes=processes, **kwargs)
        except TypeError as exc:
            raise D4pError(f"invalid option for {self.name}: {exc}") from None

    def check(self, plan: Plan) -> None:
        if not self._pinned:
            refuse_stateful(plan, self.name)

    def plan(self, graph: WorkflowGraph) -> Plan:
        return dynamic_plan(graph, self.name, pinned=self._pinned)

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: DynamicOptions) -> RunResult:
        return run_dynamic(self.name, graph, inputs, options, pinned=self._pinned, autoscale=None)


class DynMultiMapping(_DynamicBase):
    """Workers pull tasks from one shared queue; stateless PEs only."""

    name: ClassVar[str] = "dyn_multi"
    description: ClassVar[str] = "a pool of workers sharing one task queue (stateless PEs)"


class DynAutoMultiMapping(_DynamicBase):
    """``dyn_multi`` with an autoscaled number of active workers."""

    name: ClassVar[str] = "dyn_auto_multi"
    description: ClassVar[str] = "dyn_multi with autoscaling between --min/--max-workers"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--min-workers", type=int, help="fewest active workers (1)")
        parser.add_argument("--max-workers", type=int, help="most active workers (-n)")

    def options_from_args(self, args: argparse.Namespace) -> DynamicOptions:
        return self._options(args, min_workers=args.min_workers, max_workers=args.max_workers)

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: DynamicOptions) -> RunResult:
        policy = options.policy or BacklogPolicy()
        return run_dynamic(self.name, graph, inputs, options, pinned=False, autoscale=policy)


class HybridMultiMapping(_DynamicBase):
    """Stateful PEs on pinned instances, stateless work on the shared queue."""

    name: ClassVar[str] = "hybrid_multi"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "stateful PEs pinned, stateless PEs on a shared task queue"
    _pinned: ClassVar[bool] = True
