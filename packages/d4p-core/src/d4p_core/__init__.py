"""d4p-core: write a stream-based workflow once, run it on any mapping.

``import d4p_core`` loads only what a workflow is written with (PEs, graphs,
groupings, errors, results and :func:`run`); the engine, the mappings and
the rest of the API below load on first use.

``__all__`` is the user API. What a backend builds on (engine, plan,
placement, supervision) is :mod:`d4p_core.backend`; the engine names that
0.1.0 exported here still resolve (not listed in ``__all__``) for the 0.1.x
series.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .__about__ import __version__
from ._run import run
from .errors import (
    D4pError,
    GraphError,
    InputError,
    MappingNotFoundError,
    RunError,
    ServiceUnavailableError,
    UndeclaredStateWarning,
    UnsupportedGraphError,
)
from .model.block import BlockPE
from .model.composite import CompositePE, create_iterative_chain
from .model.graph import Connection, WorkflowGraph, is_composite
from .model.graph import FlatGraph as FlatGraph
from .model.grouping import Broadcast, Global, GroupBy, Grouping, Shuffle, grouping_from_spec
from .model.helpers import BasePE, ConsumerPE, IterativePE, ProducerPE, SimpleFunctionPE
from .model.pe import GROUPING, NAME, TYPE, WRITER, GenericPE
from .runtime.result import FailureInfo as FailureInfo
from .runtime.result import Outputs, PEMetrics, RunResult, merge_outputs
from .runtime.result import merge_metrics as merge_metrics

if TYPE_CHECKING:
    from ._stream import ResultStream, stream
    from .inputs import Inputs, load_inputs_file, parse_inputs_json
    from .inputs import InputSpec as InputSpec
    from .inputs import resolve_inputs as resolve_inputs
    from .io import ReadCSV, ReadJSONLines, ReadLines, WriteCSV, WriteJSONLines
    from .loader import find_graph, load_graph, load_module
    from .mapping import Mapping, MappingInfo, available_mappings, load_mapping
    from .mappings.dynamic.autoscale import (
        AutoscalePolicy,
        BacklogPolicy,
        ScalingDecision,
        ScalingSnapshot,
    )
    from .mappings.dynamic.coordinator import DynamicCoordinator as DynamicCoordinator
    from .mappings.dynamic.driver import DynamicOptions
    from .mappings.multi import MultiOptions
    from .mappings.simple import SimpleMapping as SimpleMapping
    from .mappings.simple import SimpleOptions
    from .model._stable_hash import stable_hash as stable_hash
    from .planning.placement import Fuse as Fuse
    from .planning.placement import place as place
    from .planning.plan import Plan as Plan
    from .planning.plan import Route as Route
    from .runtime.engine import Executor as Executor
    from .runtime.engine import PEFailure as PEFailure
    from .runtime.engine import instantiate as instantiate
    from .runtime.payload import GraphPayload as GraphPayload
    from .runtime.progress import ProgressListener, set_progress_listener
    from .runtime.transport import Address as Address
    from .runtime.transport import Batch as Batch
    from .runtime.transport import SpillTarget as SpillTarget
    from .runtime.transport import Transport as Transport

_LAZY = {
    "ResultStream": "._stream",
    "stream": "._stream",
    "ReadCSV": ".io",
    "ReadJSONLines": ".io",
    "ReadLines": ".io",
    "WriteCSV": ".io",
    "WriteJSONLines": ".io",
    "AutoscalePolicy": ".mappings.dynamic.autoscale",
    "BacklogPolicy": ".mappings.dynamic.autoscale",
    "ScalingDecision": ".mappings.dynamic.autoscale",
    "ScalingSnapshot": ".mappings.dynamic.autoscale",
    "DynamicCoordinator": ".mappings.dynamic.coordinator",
    "DynamicOptions": ".mappings.dynamic.driver",
    "Executor": ".runtime.engine",
    "PEFailure": ".runtime.engine",
    "instantiate": ".runtime.engine",
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
    "MultiOptions": ".mappings.multi",
    "Fuse": ".planning.placement",
    "place": ".planning.placement",
    "Plan": ".planning.plan",
    "Route": ".planning.plan",
    "ProgressListener": ".runtime.progress",
    "set_progress_listener": ".runtime.progress",
    "SimpleMapping": ".mappings.simple",
    "SimpleOptions": ".mappings.simple",
    "stable_hash": ".model._stable_hash",
    "Address": ".runtime.transport",
    "Batch": ".runtime.transport",
    "SpillTarget": ".runtime.transport",
    "Transport": ".runtime.transport",
    "GraphPayload": ".runtime.payload",
}

__all__ = [
    "GROUPING",
    "NAME",
    "TYPE",
    "WRITER",
    "AutoscalePolicy",
    "BacklogPolicy",
    "BasePE",
    "BlockPE",
    "Broadcast",
    "CompositePE",
    "Connection",
    "ConsumerPE",
    "D4pError",
    "DynamicOptions",
    "GenericPE",
    "Global",
    "GraphError",
    "GroupBy",
    "Grouping",
    "InputError",
    "Inputs",
    "IterativePE",
    "Mapping",
    "MappingInfo",
    "MappingNotFoundError",
    "MultiOptions",
    "Outputs",
    "PEMetrics",
    "ProducerPE",
    "ProgressListener",
    "ReadCSV",
    "ReadJSONLines",
    "ReadLines",
    "ResultStream",
    "RunError",
    "RunResult",
    "ScalingDecision",
    "ScalingSnapshot",
    "ServiceUnavailableError",
    "Shuffle",
    "SimpleFunctionPE",
    "SimpleOptions",
    "UndeclaredStateWarning",
    "UnsupportedGraphError",
    "WorkflowGraph",
    "WriteCSV",
    "WriteJSONLines",
    "__version__",
    "available_mappings",
    "create_iterative_chain",
    "find_graph",
    "grouping_from_spec",
    "is_composite",
    "load_graph",
    "load_inputs_file",
    "load_mapping",
    "load_module",
    "merge_outputs",
    "parse_inputs_json",
    "run",
    "set_progress_listener",
    "stream",
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
