"""d4p-core: write a stream-based workflow once, run it on any mapping.

``import d4p_core`` loads only what a workflow is written with (PEs, graphs,
groupings, errors, results and :func:`run`); the engine, the mappings and
the rest of the API below load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .__about__ import __version__
from ._run import run
from .base import BasePE, ConsumerPE, IterativePE, ProducerPE, SimpleFunctionPE
from .block import BlockPE
from .composite import CompositePE, create_iterative_chain
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
from .pe import GROUPING, NAME, TYPE, WRITER, GenericPE
from .result import FailureInfo, Outputs, PEMetrics, RunResult, merge_metrics, merge_outputs

if TYPE_CHECKING:
    from ._dynamic_run import DynamicOptions
    from ._stable_hash import stable_hash
    from ._workers import GraphPayload
    from .autoscale import AutoscalePolicy, BacklogPolicy, ScalingDecision, ScalingSnapshot
    from .coordinator import DynamicCoordinator
    from .engine import Executor, PEFailure, instantiate
    from .inputs import Inputs, InputSpec, load_inputs_file, parse_inputs_json, resolve_inputs
    from .loader import find_graph, load_graph, load_module
    from .mapping import Mapping, MappingInfo, available_mappings, load_mapping
    from .multi import MultiOptions
    from .placement import Fuse, place
    from .plan import Plan, Route
    from .progress import ProgressListener, set_progress_listener
    from .simple import SimpleMapping, SimpleOptions
    from .transport import Address, Batch, SpillTarget, Transport

_LAZY = {
    "AutoscalePolicy": ".autoscale",
    "BacklogPolicy": ".autoscale",
    "ScalingDecision": ".autoscale",
    "ScalingSnapshot": ".autoscale",
    "DynamicCoordinator": ".coordinator",
    "DynamicOptions": "._dynamic_run",
    "Executor": ".engine",
    "PEFailure": ".engine",
    "instantiate": ".engine",
    "InputSpec": ".inputs",
    "Inputs": ".inputs",
    "load_inputs_file": ".inputs",
    "parse_inputs_json": ".inputs",
    "resolve_inputs": ".inputs",
    "find_graph": ".loader",
    "load_graph": ".loader",
    "load_module": ".loader",
    "Mapping": ".mapping",
    "MappingInfo": ".mapping",
    "available_mappings": ".mapping",
    "load_mapping": ".mapping",
    "MultiOptions": ".multi",
    "Fuse": ".placement",
    "place": ".placement",
    "Plan": ".plan",
    "Route": ".plan",
    "ProgressListener": ".progress",
    "set_progress_listener": ".progress",
    "SimpleMapping": ".simple",
    "SimpleOptions": ".simple",
    "stable_hash": "._stable_hash",
    "Address": ".transport",
    "Batch": ".transport",
    "SpillTarget": ".transport",
    "Transport": ".transport",
    "GraphPayload": "._workers",
}

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
    "BlockPE",
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
