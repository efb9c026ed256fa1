"""d4p-core: write a stream-based workflow once, run it on any mapping."""

from __future__ import annotations

from .__about__ import __version__
from ._dynamic_run import DynamicOptions
from ._run import run
from ._stable_hash import stable_hash
from ._workers import GraphPayload
from .autoscale import AutoscalePolicy, BacklogPolicy, ScalingDecision, ScalingSnapshot
from .base import BasePE, ConsumerPE, IterativePE, ProducerPE, SimpleFunctionPE
from .composite import CompositePE, create_iterative_chain
from .coordinator import DynamicCoordinator
from .engine import Executor, PEFailure, instantiate
from .errors import (
    D4pError,
    GraphError,
    InputError,
    MappingNotFoundError,
    RunError,
    ServiceUnavailableError,
    UnsupportedGraphError,
)
from .graph import Connection, FlatGraph, WorkflowGraph, is_composite
from .grouping import Broadcast, Global, GroupBy, Grouping, Shuffle, grouping_from_spec
from .inputs import Inputs, InputSpec, load_inputs_file, parse_inputs_json, resolve_inputs
from .loader import find_graph, load_graph, load_module
from .mapping import Mapping, MappingInfo, available_mappings, load_mapping
from .multi import MultiOptions
from .pe import GROUPING, NAME, TYPE, WRITER, GenericPE
from .placement import Fuse, place
from .plan import Plan, Route
from .progress import ProgressListener, set_progress_listener
from .result import FailureInfo, Outputs, PEMetrics, RunResult, merge_metrics, merge_outputs
from .simple import SimpleMapping, SimpleOptions
from .transport import Address, Batch, SpillTarget, Transport

__all__ = [
    "GROUPING",
    "NAME",
    "TYPE",
    "WRITER",
    "Address",
    "AutoscalePolicy",
    "BacklogPolicy",
    "BasePE",
    "Batch",
    "Broadcast",
    "CompositePE",
    "Connection",
    "ConsumerPE",
    "D4pError",
    "DynamicCoordinator",
    "DynamicOptions",
    "Executor",
    "FailureInfo",
    "FlatGraph",
    "Fuse",
    "GenericPE",
    "Global",
    "GraphError",
    "GraphPayload",
    "GroupBy",
    "Grouping",
    "InputError",
    "InputSpec",
    "Inputs",
    "IterativePE",
    "Mapping",
    "MappingInfo",
    "MappingNotFoundError",
    "MultiOptions",
    "Outputs",
    "PEFailure",
    "PEMetrics",
    "Plan",
    "ProducerPE",
    "ProgressListener",
    "Route",
    "RunError",
    "RunResult",
    "ScalingDecision",
    "ScalingSnapshot",
    "ServiceUnavailableError",
    "Shuffle",
    "SimpleFunctionPE",
    "SimpleMapping",
    "SimpleOptions",
    "SpillTarget",
    "Transport",
    "UnsupportedGraphError",
    "WorkflowGraph",
    "__version__",
    "available_mappings",
    "create_iterative_chain",
    "find_graph",
    "grouping_from_spec",
    "instantiate",
    "is_composite",
    "load_graph",
    "load_inputs_file",
    "load_mapping",
    "load_module",
    "merge_metrics",
    "merge_outputs",
    "parse_inputs_json",
    "place",
    "resolve_inputs",
    "run",
    "set_progress_listener",
    "stable_hash",
]
