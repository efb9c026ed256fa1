"""The Mapping protocol and the registry of installed mappings.

Each distribution registers its mappings under the entry-point group
``d4p.mappings`` (``name = "package.module:MappingClass"``). Discovery reads
only the metadata; a mapping's module is imported when it is loaded.
"""

from __future__ import annotations

import argparse
import functools
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

from .errors import MappingNotFoundError
from .inputs import Inputs
from .model.graph import WorkflowGraph
from .planning.plan import Plan
from .runtime.result import RunResult

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from .mappings.base import PlacedRun

__all__ = [
    "ENTRY_POINT_GROUP",
    "Mapping",
    "MappingInfo",
    "available_mappings",
    "load_mapping",
]

ENTRY_POINT_GROUP = "d4p.mappings"

OptionsT = TypeVar("OptionsT")

# Which distribution provides which mapping, for the install hint only; the
# registry itself knows mappings solely through entry points.
_PROVIDERS = {
    "simple": "d4p-core",
    "multi": "d4p-core",
    "dyn_multi": "d4p-core",
    "dyn_auto_multi": "d4p-core",
    "hybrid_multi": "d4p-core",
    "mpi": "d4p-mpi",
    "redis": "d4p-redis",
    "dyn_redis": "d4p-redis",
    "dyn_auto_redis": "d4p-redis",
    "hybrid_redis": "d4p-redis",
    "zmq_multi": "d4p-zmq",
    "storm": "d4p-storm",
}


# d4p-core's own mappings (also registered as entry points, for discovery):
# loading one by name needs no scan of the installed distributions' metadata.
_BUILTIN = {
    "simple": "d4p_core.mappings.simple:SimpleMapping",
    "multi": "d4p_core.mappings.multi:MultiMapping",
    "dyn_multi": "d4p_core.mappings.dynamic.local:DynMultiMapping",
    "dyn_auto_multi": "d4p_core.mappings.dynamic.local:DynAutoMultiMapping",
    "hybrid_multi": "d4p_core.mappings.dynamic.local:HybridMultiMapping",
}


@runtime_checkable
class Mapping(Protocol[OptionsT]):
    """An execution engine for workflow graphs."""

    name: ClassVar[str]
    supports_stateful: ClassVar[bool]
    description: ClassVar[str]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add this mapping's command-line options to ``parser``."""

    def options_from_args(self, args: argparse.Namespace) -> OptionsT:
        """Build options from parsed command-line arguments."""

    def options_from_kwargs(self, processes: int | None, **kwargs: Any) -> OptionsT:
        """Build options from keyword arguments of :func:`d4p_core.run`."""

    def check(self, plan: Plan) -> None:
        """Raise UnsupportedGraphError when this mapping cannot run ``plan``."""

    def plan(self, graph: WorkflowGraph, options: OptionsT) -> Plan | PlacedRun:
        """What :meth:`run` runs with ``options``: the plan, placed on
        processes where the mapping places them (``d4p inspect -m``)."""

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: OptionsT) -> RunResult:
        """Run ``graph`` on ``inputs`` and return its results."""


@dataclass(frozen=True)
class MappingInfo:
    """An installed mapping, known from its entry point without importing it."""

    name: str
    value: str
    distribution: str
    version: str


@functools.lru_cache(maxsize=1)
def _entry_points() -> tuple[EntryPoint, ...]:
    from importlib.metadata import entry_points

    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def available_mappings() -> dict[str, MappingInfo]:
    """Every installed mapping by name (reads metadata only)."""
    found: dict[str, MappingInfo] = {}
    for entry_point in _entry_points():
        dist = entry_point.dist
        found.setdefault(
            entry_point.name,
            MappingInfo(
                name=entry_point.name,
                value=entry_point.value,
                distribution=dist.metadata["Name"] if dist is not None else "?",
                version=dist.version if dist is not None else "?",
            ),
        )
    return dict(sorted(found.items()))


def _installed_version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


@functools.cache
def load_mapping(name: str) -> Mapping[Any]:
    """The mapping registered as ``name``; :class:`MappingNotFoundError` if none."""
    builtin = _BUILTIN.get(name)
    if builtin is not None:
        module, _, attribute = builtin.partition(":")
        builtin_class = getattr(importlib.import_module(module), attribute)
        return builtin_class()  # type: ignore[no-any-return]
    for entry_point in _entry_points():
        if entry_point.name == name:
            mapping_class = entry_point.load()
            mapping: Mapping[Any] = mapping_class()
            return mapping
    installed = ", ".join(available_mappings()) or "none"
    provider = _PROVIDERS.get(name)
    if provider is None:
        hint = "; check the spelling"
    elif _installed_version(provider) is None:
        hint = f"; install it with 'pip install {provider}'"
    else:
        hint = (
            f"; the installed {provider} {_installed_version(provider)} does not provide it, "
            f"upgrade with 'pip install -U {provider}'"
        )
    raise MappingNotFoundError(
        f"no mapping named {name!r} is installed{hint}. Installed mappings: {installed}"
    )
