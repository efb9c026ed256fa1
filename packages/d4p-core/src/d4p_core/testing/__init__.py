"""The conformance suite: workflows with known results and the base test class
every mapping's tests subclass. ``MappingConformance`` needs pytest
(``pip install d4p-core[testing]``); the workflows do not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .checks import INVARIANTS, assert_same_multisets, freeze, multiset
from .processes import child_processes
from .workflows import CASES, ConformanceCase, case_by_name

if TYPE_CHECKING:
    from .conformance import PORTABILITY_CASES, MappingConformance, build_failing

__all__ = [
    "CASES",
    "INVARIANTS",
    "PORTABILITY_CASES",
    "ConformanceCase",
    "MappingConformance",
    "assert_same_multisets",
    "build_failing",
    "case_by_name",
    "child_processes",
    "freeze",
    "multiset",
]


def __getattr__(name: str) -> Any:
    # The base class imports pytest; load it only when asked for.
    if name in ("MappingConformance", "PORTABILITY_CASES", "build_failing"):
        from . import conformance

        return getattr(conformance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
