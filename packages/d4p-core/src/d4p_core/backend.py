"""The backend facade: everything a mapping package may import from core.

A backend (``d4p-mpi``, ``d4p-redis``, ``d4p-zmq``, ``d4p-storm`` or a new
one) supplies a transport and where its processes run; the engine, planning,
placement, payloads, supervision and option plumbing come from here. This
module is the contract between core and backends: it is covered by the
public-API test, and importing ``d4p_core._*`` (or a private name of a
sub-package) from outside core is refused by a lint rule. See
``docs/backends.md`` ("Writing a backend").
"""

from __future__ import annotations

from .inputs import InputSpec, iter_blocks, resolve_inputs
from .mappings.base import (
    FixedPlacementMapping,
    MappingBase,
    PlacedRun,
    RunOutcome,
    instance_metrics,
)
from .mappings.dynamic.autoscale import (
    AutoscalePolicy,
    BacklogPolicy,
    ScalingDecision,
    ScalingSnapshot,
)
from .mappings.dynamic.base import (
    DynamicLayout,
    DynamicMappingBase,
    DynamicRun,
    copy_metrics,
    dynamic_plan,
    refuse_stateful,
)
from .mappings.dynamic.coordinator import DynamicCoordinator
from .mappings.options import (
    FUSE_CHOICES,
    START_METHODS,
    check_process_options,
    fuse_option,
    option,
    start_method_option,
)
from .model._stable_hash import stable_hash
from .model.graph import FlatGraph
from .model.pe import LOG_LEVEL_ENV
from .planning.placement import Fuse, place
from .planning.plan import Plan, Route
from .runtime.engine import Executor, PEFailure, given_blocks, instantiate
from .runtime.lifetime import die_with_parent, parent_gone, parent_token, watch_child
from .runtime.payload import GraphPayload
from .runtime.pe_output import pe_prints_to_stderr, send_pe_prints_to_stderr
from .runtime.progress import ProgressTotals, progress_listener
from .runtime.result import FailureInfo, Outputs, PEMetrics, merge_metrics
from .runtime.signals import sigterm_ends_the_run
from .runtime.streaming import ResultCallback, deliver, result_callback, results_to
from .runtime.supervision import (
    ABORT_GRACE,
    EXIT_GRACE_CHECKS,
    RESULTS_PER_REPORT,
    STOP_GRACE,
    Aborted,
    BatchingReporter,
    LocalProcesses,
    Report,
    ReportSink,
    crash_text,
    exit_description,
    run_worker_command,
    task_kills_workers,
    worker_crashed,
    worker_lost,
    workers_die_holding_nothing,
)
from .runtime.transport import Address, Batch, SpillTarget, Transport

__all__ = [
    "ABORT_GRACE",
    "EXIT_GRACE_CHECKS",
    "FUSE_CHOICES",
    "LOG_LEVEL_ENV",
    "RESULTS_PER_REPORT",
    "START_METHODS",
    "STOP_GRACE",
    "Aborted",
    "Address",
    "AutoscalePolicy",
    "BacklogPolicy",
    "Batch",
    "BatchingReporter",
    "DynamicCoordinator",
    "DynamicLayout",
    "DynamicMappingBase",
    "DynamicRun",
    "Executor",
    "FailureInfo",
    "FixedPlacementMapping",
    "FlatGraph",
    "Fuse",
    "GraphPayload",
    "InputSpec",
    "LocalProcesses",
    "MappingBase",
    "Outputs",
    "PEFailure",
    "PEMetrics",
    "PlacedRun",
    "Plan",
    "ProgressTotals",
    "Report",
    "ReportSink",
    "ResultCallback",
    "Route",
    "RunOutcome",
    "ScalingDecision",
    "ScalingSnapshot",
    "SpillTarget",
    "Transport",
    "check_process_options",
    "copy_metrics",
    "crash_text",
    "deliver",
    "die_with_parent",
    "dynamic_plan",
    "exit_description",
    "fuse_option",
    "given_blocks",
    "instance_metrics",
    "instantiate",
    "iter_blocks",
    "merge_metrics",
    "option",
    "parent_gone",
    "parent_token",
    "pe_prints_to_stderr",
    "place",
    "progress_listener",
    "refuse_stateful",
    "resolve_inputs",
    "result_callback",
    "results_to",
    "run_worker_command",
    "send_pe_prints_to_stderr",
    "sigterm_ends_the_run",
    "stable_hash",
    "start_method_option",
    "task_kills_workers",
    "watch_child",
    "worker_crashed",
    "worker_lost",
    "workers_die_holding_nothing",
]
