"""d4p-core: write a stream-based workflow once, run it on any mapping."""

from __future__ import annotations

from .__about__ import __version__
from ._run import run
from ._stable_hash import stable_hash
from .base import BasePE, ConsumerPE, IterativePE, ProducerPE, SimpleFunctionPE
from .composite import CompositePE, create_iterative_chain
from .engine import Address, Batch, Executor, PEFailure, Transport, instantiate
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
from .pe import GROUPING, NAME, TYPE, WRITER, GenericPE
from .plan import Plan, Route
from .result import FailureInfo, Outputs, PEMetrics, RunResult
from .simple import SimpleMapping, SimpleOptions

__all__ = [
    "GROUPING",
    "NAME",
    "TYPE",
    "WRITER",
    "Address",
    "BasePE",
    "Batch",
    "Broadcast",
    "CompositePE",
    "Connection",
    "ConsumerPE",
    "D4pError",
    "Executor",
    "FailureInfo",
    "FlatGraph",
    "GenericPE",
    "Global",
    "GraphError",
    "GroupBy",
    "Grouping",
    "InputError",
    "InputSpec",
    "Inputs",
    "IterativePE",
    "Mapping",
    "MappingInfo",
    "MappingNotFoundError",
    "Outputs",
    "PEFailure",
    "PEMetrics",
    "Plan",
    "ProducerPE",
    "Route",
    "RunError",
    "RunResult",
    "ServiceUnavailableError",
    "Shuffle",
    "SimpleFunctionPE",
    "SimpleMapping",
    "SimpleOptions",
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
    "parse_inputs_json",
    "resolve_inputs",
    "run",
    "stable_hash",
]
