"""What every mapping shares, as base classes (the template method of Beam's
runners).

:class:`MappingBase` derives the command-line options and the keyword
options from the mapping's options dataclass (see
:mod:`d4p_core.mappings.options`) and gives the default plan.
:class:`FixedPlacementMapping` adds the fixed-placement preamble every
process-per-partition mapping runs (flatten, plan, place, resolve inputs) and
assembles the :class:`~d4p_core.RunResult`; a backend implements only
:meth:`~FixedPlacementMapping.execute`: start the placed partitions on its
transport and collect their reports.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar

from ..errors import UndeclaredStateWarning
from ..inputs import Inputs, InputSpec, resolve_inputs
from ..model.graph import FlatGraph, WorkflowGraph
from ..planning.placement import Fuse, place
from ..planning.plan import Plan
from ..runtime._state_watch import split_state_message
from ..runtime.result import FailureInfo, Outputs, PEMetrics, RunResult, merge_metrics
from ..runtime.signals import sigterm_ends_the_run
from ..runtime.streaming import deliver, result_callback
from ..runtime.transport import Address
from .options import add_option_arguments, options_from_args, options_from_kwargs

__all__ = [
    "FixedPlacementMapping",
    "MappingBase",
    "PlacedRun",
    "RunOutcome",
    "instance_metrics",
]

OptionsT = TypeVar("OptionsT")


class MappingBase(ABC, Generic[OptionsT]):
    """A mapping whose options are one dataclass, ``options_class``.

    Subclasses set ``name``, ``description``, ``supports_stateful`` and
    ``options_class`` and implement :meth:`run`; they may refine
    :meth:`check` and :meth:`plan`. Mappings sharing one options class leave
    out of their command line the options they do not use
    (``hidden_options``, field names).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    supports_stateful: ClassVar[bool] = True
    options_class: ClassVar[type[Any]]
    hidden_options: ClassVar[frozenset[str]] = frozenset()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_option_arguments(parser, self.options_class, skip=self.hidden_options)

    def options_from_args(self, args: argparse.Namespace) -> OptionsT:
        options: OptionsT = options_from_args(self.options_class, args)
        return options

    def options_from_kwargs(self, processes: int | None, **kwargs: Any) -> OptionsT:
        options: OptionsT = options_from_kwargs(self.options_class, self.name, processes, kwargs)
        return options

    def check(self, plan: Plan) -> None:
        """Raise :class:`~d4p_core.UnsupportedGraphError` when this mapping
        cannot run ``plan`` (every plan by default)."""

    def plan(self, graph: WorkflowGraph, options: OptionsT) -> Plan | PlacedRun:
        """What :meth:`run` will run, as ``d4p inspect -m`` shows it."""
        plan = Plan.build(graph, getattr(options, "processes", None))
        self.check(plan)
        return plan

    @abstractmethod
    def run(self, graph: WorkflowGraph, inputs: Inputs, options: OptionsT) -> RunResult:
        """Run ``graph`` on ``inputs`` and return its results."""


@dataclass(frozen=True)
class PlacedRun:
    """A plan placed on processes: what a fixed-placement mapping runs.

    ``partitions[i]`` is the tuple of PE instances process ``i`` hosts;
    ``provided`` the inputs of the sources (empty until :meth:`with_inputs`).
    """

    flat: FlatGraph
    plan: Plan
    partitions: tuple[tuple[Address, ...], ...]
    provided: dict[str, InputSpec] = field(default_factory=dict)

    @cached_property
    def owner(self) -> dict[Address, int]:
        """The process hosting each instance."""
        return {address: i for i, block in enumerate(self.partitions) for address in block}

    def provided_for(self, index: int) -> dict[str, InputSpec]:
        """The source inputs process ``index`` feeds (sources have instance 0)."""
        hosted = self.partitions[index]
        return {pe: spec for pe, spec in self.provided.items() if (pe, 0) in hosted}

    def describe_partition(self, index: int) -> str:
        """``"hosting a[0], b[0]"``: how failure messages name a process."""
        return "hosting " + ", ".join(f"{pe}[{n}]" for pe, n in self.partitions[index])

    def with_inputs(self, inputs: Inputs) -> PlacedRun:
        provided = resolve_inputs(self.flat, inputs, self.plan.sources)
        return PlacedRun(self.flat, self.plan, self.partitions, provided)

    def describe(self) -> str:
        lines = [self.plan.describe(), f"placement: {len(self.partitions)} process(es)"]
        for index, block in enumerate(self.partitions):
            lines.append(f"  process {index}: " + ", ".join(f"{pe}[{n}]" for pe, n in block))
        return "\n".join(lines)


@dataclass
class RunOutcome:
    """What :meth:`FixedPlacementMapping.execute` returns: the results, the
    metrics of every instance, and what the backend adds to ``extra``.
    ``primary=False``: a secondary process of a run started by an outside
    launcher (an MPI rank other than 0), whose result front ends ignore.
    ``process_seconds``: see :attr:`~d4p_core.RunResult.process_seconds`
    (the backend measures it; the template copies it)."""

    outputs: Outputs
    metrics: list[tuple[Address, PEMetrics]]
    extra: dict[str, Any] = field(default_factory=dict)
    errors: list[FailureInfo] = field(default_factory=list)
    primary: bool = True
    process_seconds: float = 0.0

    def result(
        self,
        mapping: str,
        started: float,
        metrics: tuple[dict[str, PEMetrics], dict[str, dict[int, PEMetrics]]],
        extra: dict[str, Any],
    ) -> RunResult:
        """The run's :class:`~d4p_core.RunResult`; ``metrics``: per-PE totals
        and per-instance metrics (:func:`instance_metrics`, :func:`copy_metrics`).
        Results a backend held to the end go to the run's result callback
        now, if it has one (backends whose driver uses ``ReportSink`` hand
        them over as they arrive)."""
        on_result = result_callback()
        if on_result is not None and self.primary:
            deliver(self.outputs, on_result)
        return RunResult(
            mapping=mapping,
            outputs=self.outputs,
            metrics=metrics[0],
            instance_metrics=metrics[1],
            elapsed_seconds=time.perf_counter() - started,
            errors=self.errors,
            extra={**extra, **self.extra},
            primary=self.primary,
            process_seconds=self.process_seconds,
        )


def warn_split_state(result: RunResult) -> None:
    """Warn, once per PE, about undeclared state its round-robin instances
    split (noticed by the engine, see ``GenericPE.check_state``)."""
    for pe_id, metrics in result.metrics.items():
        if metrics.split_state:
            copies = f"it ran as {metrics.instances} instances sharing its items round robin"
            message = f"PE {pe_id!r}: " + split_state_message(metrics.split_state, copies)
            result.warnings.append(message)
            warnings.warn(message, UndeclaredStateWarning, stacklevel=3)


def instance_metrics(
    per_instance: Iterable[tuple[Address, PEMetrics]],
) -> tuple[dict[str, PEMetrics], dict[str, dict[int, PEMetrics]]]:
    """Per-PE totals and per-instance metrics, from every instance's metrics."""
    items = sorted(per_instance)
    by_instance: dict[str, dict[int, PEMetrics]] = {}
    for (pe_id, index), metrics in items:
        by_instance.setdefault(pe_id, {})[index] = metrics
    return merge_metrics({address[0]: m} for address, m in items), by_instance


class FixedPlacementMapping(MappingBase[OptionsT]):
    """A mapping that places PE instances on a fixed set of processes.

    :meth:`run` is the template: plan and place once (:meth:`plan`, the same
    placement ``d4p inspect -m`` prints), resolve the inputs, call
    :meth:`execute`, and assemble the result. Options are expected to have
    ``processes`` (``None``: one per CPU) and ``fuse``.
    """

    def processes(self, options: OptionsT) -> int:
        """How many processes the run has."""
        requested: int | None = getattr(options, "processes", None)
        return requested or os.cpu_count() or 1

    def plan(self, graph: WorkflowGraph, options: OptionsT) -> PlacedRun:
        processes = self.processes(options)
        flat = graph.flat()
        plan = Plan.build(flat, max(processes, Plan.minimum_processes(flat)))
        self.check(plan)
        fuse: Fuse = getattr(options, "fuse", "auto")
        return PlacedRun(flat, plan, place(plan, processes, fuse))

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: OptionsT) -> RunResult:
        started = time.perf_counter()
        placed = self.plan(graph, options).with_inputs(inputs)
        with sigterm_ends_the_run():
            outcome = self.execute(placed, options)
        placement = [list(block) for block in placed.partitions]
        result = outcome.result(
            self.name, started, instance_metrics(outcome.metrics), {"placement": placement}
        )
        warn_split_state(result)
        return result

    @abstractmethod
    def execute(self, placed: PlacedRun, options: OptionsT) -> RunOutcome:
        """Run every partition of ``placed`` to completion on this backend."""
