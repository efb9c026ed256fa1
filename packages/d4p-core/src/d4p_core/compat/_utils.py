"""``dispel4py.utils``: loading graphs and the hash used for group-by."""

from __future__ import annotations

from typing import Any

from ..loader import find_graph
from ..loader import load_graph as _load_graph
from ..model._stable_hash import stable_hash
from ..model.graph import WorkflowGraph

__all__ = ["findWorkflowGraph", "load_graph", "make_hash"]

findWorkflowGraph = find_graph  # noqa: N816 - dispel4py name


def load_graph(graph_source: str, attr: str | None = None) -> WorkflowGraph:
    """Load the graph of a module name or ``.py`` file (``attr``: its variable)."""
    return _load_graph(graph_source, attr)


def make_hash(o: Any) -> int:
    """A hash of (nested) values that is the same in every process and host.

    Unlike dispel4py's, it never depends on the interpreter's hash salt.
    """
    return stable_hash(o)
