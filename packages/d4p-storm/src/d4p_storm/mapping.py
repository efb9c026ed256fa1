"""The ``storm`` mapping: a d4p graph as an Apache Storm topology, run on a
LocalCluster (``--local``, the default: a JVM started for the run, or a
shared :class:`~d4p_storm.LocalStorm` given as ``cluster=``), submitted to a
cluster over Nimbus Thrift (``--nimbus``), or only written as Flux YAML.

The plan is Storm's (:func:`~d4p_storm.topology.storm_plan`); every PE
instance is one Storm task, a runner process of its own: core's placement of
one instance per process. Every task reports ``done`` to the driver after
its end of stream, then the topology is killed.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from d4p_core import D4pError, WorkflowGraph
from d4p_core.backend import (
    FixedPlacementMapping,
    PlacedRun,
    ReportSink,
    RunOutcome,
    check_process_options,
    option,
    place,
)

from . import _submit
from ._notice import notice
from .flux import flux_written, write_flux
from .local import LocalStorm
from .nimbus import parse_hostport
from .topology import storm_plan

__all__ = ["StormMapping", "StormOptions"]


@dataclass(frozen=True)
class StormOptions:
    """Options of ``storm``. ``processes``: the parallelism budget the plan
    shares out (as ``-n`` for ``multi``); ``conf``: extra Storm settings;
    ``cluster``: a running :class:`LocalStorm` to use instead of starting
    one; ``command``: what Storm runs per task, ``(executable, script)``."""

    processes: int | None = None
    local: bool = option(False, "run on a Storm LocalCluster (the default)")
    nimbus: str | None = option(None, "submit to a Storm cluster", metavar="HOST:PORT")
    flux: str | None = option(None, "write the topology as Flux YAML", metavar="FILE")
    batch_size: int = option(256, "items per tuple")
    workers: int = option(1, "topology.workers")
    driver_host: str | None = option(None, "address the tasks reach this process at (--nimbus)")
    worker_python: str | None = option(None, "the Python tasks run (default: this one)")
    timeout: float | None = option(None, "give up after this many seconds")
    conf: Mapping[str, Any] = option(
        dict,
        "a Storm setting, the value as JSON (repeatable)",
        metavar="KEY=VALUE",
        repeatable=True,
        convert=lambda items: dict(_submit.storm_setting(item) for item in items),
    )
    cluster: LocalStorm | None = None
    command: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        check_process_options(
            self.processes, None, batch_size=self.batch_size, workers=self.workers
        )
        if self.nimbus is not None and (self.local or self.cluster is not None):
            raise D4pError("choose one of --local and --nimbus")
        if self.nimbus is not None:
            parse_hostport(self.nimbus)
        if self.command is not None:
            object.__setattr__(self, "command", tuple(self.command))
            if len(self.command) != 2:
                raise D4pError("command must be (executable, script): Storm passes exactly two")


class StormMapping(FixedPlacementMapping[StormOptions]):
    """PE instances as Storm tasks (spouts and bolts running d4p's runner)."""

    name: ClassVar[str] = "storm"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "an Apache Storm topology (LocalCluster, Nimbus or Flux YAML)"
    options_class: ClassVar[type[StormOptions]] = StormOptions

    def plan(self, graph: WorkflowGraph, options: StormOptions) -> PlacedRun:
        flat = graph.flat()
        plan = storm_plan(flat, self.processes(options))
        self.check(plan)
        return PlacedRun(flat, plan, place(plan, plan.total_instances, "never"))

    def execute(self, placed: PlacedRun, options: StormOptions) -> RunOutcome:
        name = f"d4p-{secrets.token_hex(6)}"
        command = options.command or _submit.default_command(options.worker_python)
        if options.flux is not None and options.nimbus is None:  # only write it
            spec = _submit.storm_topology(placed, name, options)
            path = write_flux(spec, command, options.flux)
            notice(flux_written(spec, path, command, submitted=False))
            return RunOutcome({}, [], {"topology": name, "flux": str(path)})
        sink = ReportSink(lambda task: f"worker {task} ({placed.describe_partition(task)})")
        with _submit.driver_for(options) as driver:
            spec = _submit.storm_topology(placed, name, options, driver, sink.wants_progress)
            if options.flux is not None:
                notice(flux_written(spec, write_flux(spec, command, options.flux), command, True))
            collect = functools.partial(driver.collect, sink, placed.owner, timeout=options.timeout)
            submitted = time.monotonic()
            _submit.run_topology(spec, command, driver, options, collect)
            killed = time.monotonic()
            process_seconds = driver.process_seconds(killed)
        extra = {
            "topology": name,
            "parallelism": {component.id: component.parallelism for component in spec.components},
            "where": options.nimbus or "local",
            "jvm_seconds": _submit.jvm_seconds(spec.conf, options, killed - submitted),
        }
        return RunOutcome(sink.outputs, sink.metrics, extra, process_seconds=process_seconds)
