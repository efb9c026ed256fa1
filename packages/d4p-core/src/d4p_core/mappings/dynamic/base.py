"""What the dynamic mappings share, whatever carries their tasks
(multiprocessing queues in core, Redis streams in d4p-redis): the plan (one
logical instance per stateless PE, stateful PEs refused or pinned), which
worker hosts which pinned instance, the result assembly, and the mapping
class itself. A backend implements :meth:`DynamicMappingBase.execute`."""

from __future__ import annotations

import argparse
import time
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from ...errors import UnsupportedGraphError
from ...inputs import Inputs, InputSpec, resolve_inputs
from ...model.graph import FlatGraph, WorkflowGraph
from ...planning.plan import Plan
from ...runtime.result import PEMetrics, RunResult, merge_metrics
from ...runtime.signals import sigterm_ends_the_run
from ...runtime.transport import Address
from ..base import MappingBase, RunOutcome
from ..options import add_option_arguments
from .autoscale import AutoscalePolicy, BacklogPolicy

__all__ = [
    "DynamicLayout",
    "DynamicMappingBase",
    "DynamicRun",
    "copy_metrics",
    "dynamic_plan",
    "refuse_stateful",
]

OptionsT = TypeVar("OptionsT")

AUTOSCALE_OPTIONS = frozenset({"min_workers", "max_workers"})


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


def dynamic_plan(graph: WorkflowGraph | FlatGraph, mapping: str, *, pinned: bool) -> Plan:
    """One logical instance per stateless PE; stateful PEs refused, or (with
    ``pinned``) given their declared number of instances."""
    flat = graph if isinstance(graph, FlatGraph) else graph.flat()
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


@dataclass(frozen=True)
class DynamicLayout:
    """Which worker hosts what: every worker has a copy of each stateless PE;
    each pinned (stateful) instance lives on one worker, round robin."""

    stateless: tuple[str, ...]
    pinned_owner: dict[Address, int]

    @classmethod
    def build(cls, plan: Plan, workers: int) -> DynamicLayout:
        stateless = tuple(
            pe for pe in plan.pe_ids if pe not in plan.sources and pe not in plan.stateful
        )
        pinned = [
            (pe, i)
            for pe in plan.pe_ids
            if pe in plan.stateful and pe not in plan.sources
            for i in range(plan.instances[pe])
        ]
        slots = max(1, workers)
        return cls(stateless, {address: n % slots for n, address in enumerate(pinned)})

    @property
    def pinned_instances(self) -> tuple[Address, ...]:
        return tuple(self.pinned_owner)

    def hosted_by(self, worker: int) -> tuple[Address, ...]:
        """The instances worker ``worker`` runs."""
        return tuple((pe, 0) for pe in self.stateless) + tuple(
            address for address, owner in self.pinned_owner.items() if owner == worker
        )

    def describe(self) -> dict[str, int]:
        """``{"pe[i]": worker}`` for ``RunResult.extra["pinned"]``."""
        return {f"{pe}[{i}]": owner for (pe, i), owner in self.pinned_owner.items()}


@dataclass(frozen=True)
class DynamicRun:
    """What a dynamic mapping runs: the plan, the sources' inputs and the
    autoscaling policy (``None`` without autoscaling)."""

    flat: FlatGraph
    plan: Plan
    provided: dict[str, InputSpec]
    policy: AutoscalePolicy | None


def copy_metrics(
    items: Iterable[tuple[Address, PEMetrics]],
) -> tuple[dict[str, PEMetrics], dict[str, dict[int, PEMetrics]]]:
    """Per-PE totals, and per-copy metrics: stateless PEs run one copy per
    worker, all reporting instance 0, so copies are numbered per PE."""
    items = list(items)
    by_copy: dict[str, dict[int, PEMetrics]] = {}
    for (pe_id, _), metrics in items:
        copies = by_copy.setdefault(pe_id, {})
        copies[len(copies)] = metrics
    return merge_metrics({pe: m} for (pe, _), m in items), by_copy


class DynamicMappingBase(MappingBase[OptionsT]):
    """A dynamic mapping: ``pinned`` mappings (``hybrid_*``) run stateful PEs
    on pinned instances, the others refuse them; ``autoscaled`` ones choose
    the active workers with a policy (``options.policy``, else
    :class:`~d4p_core.BacklogPolicy`) and take ``--min/--max-workers``."""

    supports_stateful: ClassVar[bool] = False
    pinned: ClassVar[bool] = False
    autoscaled: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.pinned and cls.autoscaled:
            raise TypeError(
                f"{cls.__name__}: an autoscaled mapping starts and retires workers, "
                "so it cannot pin stateful instances to them (pinned and autoscaled)"
            )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        skip = self.hidden_options if self.autoscaled else self.hidden_options | AUTOSCALE_OPTIONS
        add_option_arguments(parser, self.options_class, skip=skip)

    def check(self, plan: Plan) -> None:
        if not self.pinned:
            refuse_stateful(plan, self.name)

    def plan(self, graph: WorkflowGraph, options: OptionsT) -> Plan:
        return dynamic_plan(graph, self.name, pinned=self.pinned)

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: OptionsT) -> RunResult:
        started = time.perf_counter()
        flat = graph.flat()
        plan = dynamic_plan(flat, self.name, pinned=self.pinned)
        policy: AutoscalePolicy | None = None
        if self.autoscaled:
            policy = getattr(options, "policy", None) or BacklogPolicy()
        work = DynamicRun(flat, plan, resolve_inputs(flat, inputs, plan.sources), policy)
        with sigterm_ends_the_run():
            outcome = self.execute(work, options)
        return outcome.result(self.name, started, copy_metrics(outcome.metrics), {})

    @abstractmethod
    def execute(self, work: DynamicRun, options: OptionsT) -> RunOutcome:
        """Run ``work`` to completion on this backend's task queue."""
