"""The four Redis mappings."""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from d4p_core import BacklogPolicy, D4pError, Inputs, RunResult, WorkflowGraph
from d4p_core.backend import Plan, dynamic_plan, refuse_stateful

from ._dynamic_run import run_dynamic
from ._fixed_run import run_fixed
from ._options import RedisOptions, add_redis_arguments, options_from_args

__all__ = [
    "DynAutoRedisMapping",
    "DynRedisMapping",
    "HybridRedisMapping",
    "RedisMapping",
]


class _RedisBase:
    name: ClassVar[str]
    supports_stateful: ClassVar[bool] = False
    description: ClassVar[str]
    _dynamic: ClassVar[bool] = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_redis_arguments(parser, dynamic=self._dynamic)

    def options_from_args(self, args: argparse.Namespace) -> RedisOptions:
        return options_from_args(args)

    def options_from_kwargs(self, processes: int | None, **kwargs: Any) -> RedisOptions:
        try:
            return RedisOptions(processes=processes, **kwargs)
        except TypeError as exc:
            raise D4pError(f"invalid option for {self.name}: {exc}") from None

    def check(self, plan: Plan) -> None:
        pass


class RedisMapping(_RedisBase):
    """Fixed assignment (as ``multi``): one Redis stream per PE instance."""

    name: ClassVar[str] = "redis"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "fixed PE instances on worker processes, one Redis stream each"
    _dynamic: ClassVar[bool] = False

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: RedisOptions) -> RunResult:
        return run_fixed(graph, inputs, options)


class DynRedisMapping(_RedisBase):
    """Workers take tasks from one shared Redis stream; stateless PEs only."""

    name: ClassVar[str] = "dyn_redis"
    description: ClassVar[str] = "workers (local or remote) sharing one Redis task stream"
    _pinned: ClassVar[bool] = False

    def check(self, plan: Plan) -> None:
        if not self._pinned:
            refuse_stateful(plan, self.name)

    def plan(self, graph: WorkflowGraph) -> Plan:
        return dynamic_plan(graph, self.name, pinned=self._pinned)

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: RedisOptions) -> RunResult:
        return run_dynamic(self.name, graph, inputs, options, pinned=self._pinned, autoscale=None)


class DynAutoRedisMapping(DynRedisMapping):
    """``dyn_redis`` with core's autoscaling policy choosing the active workers."""

    name: ClassVar[str] = "dyn_auto_redis"
    description: ClassVar[str] = "dyn_redis with autoscaling between --min/--max-workers"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--min-workers", type=int, help="fewest active workers (1)")
        parser.add_argument("--max-workers", type=int, help="most active workers (-n)")

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: RedisOptions) -> RunResult:
        policy = options.policy or BacklogPolicy()
        return run_dynamic(self.name, graph, inputs, options, pinned=False, autoscale=policy)


class HybridRedisMapping(DynRedisMapping):
    """Stateful PEs pinned to dedicated instances with their own streams;
    stateless work on the shared stream."""

    name: ClassVar[str] = "hybrid_redis"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "stateful PEs pinned to their own streams, the rest shared"
    _pinned: ClassVar[bool] = True
