"""Loading a workflow graph from a module, a ``.py`` file or ``module:attr``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

from .errors import GraphError
from .model.graph import WorkflowGraph, is_composite

__all__ = ["file_modules", "find_graph", "load_file_module", "load_graph", "load_module"]

# Modules loaded from a file path, by module name: worker processes started
# with spawn/forkserver load them again by path before unpickling PEs.
_FILE_MODULES: dict[str, str] = {}


def file_modules() -> dict[str, str]:
    """``{module name: path}`` of the workflow modules loaded from files."""
    return dict(_FILE_MODULES)


def load_module(source: str) -> ModuleType:
    """Import ``source``: a dotted module name or a path to a ``.py`` file."""
    if source.endswith(".py") or os.sep in source or (os.altsep and os.altsep in source):
        return _load_file(source)
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as exc:
        if exc.name is not None and source.startswith(exc.name) and os.path.exists(source):
            return _load_file(source)
        if exc.name is not None and (source == exc.name or source.startswith(exc.name + ".")):
            raise GraphError(
                f"cannot load workflow {source!r}: no module named {exc.name!r} "
                "(give a dotted module on the Python path or a path to a .py file)"
            ) from exc
        raise


def _load_file(path: str) -> ModuleType:
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise GraphError(f"cannot load workflow {path!r}: no such file")
    name = os.path.splitext(os.path.basename(full))[0]
    taken = sys.modules.get(name)
    if taken is not None and os.path.abspath(getattr(taken, "__file__", "") or "") != full:
        # Never shadow an existing module (a workflow file called json.py).
        name = f"_d4p_workflow_{name}"
    return load_file_module(name, full)


def load_file_module(name: str, full: str) -> ModuleType:
    """Execute the file ``full`` as module ``name`` (once per process)."""
    existing = sys.modules.get(name)
    if existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "") == full:
        return existing
    spec = importlib.util.spec_from_file_location(name, full)
    if spec is None or spec.loader is None:
        raise GraphError(f"cannot load workflow {full!r}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    directory = os.path.dirname(full)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    _FILE_MODULES[name] = full
    return module


def find_graph(module: ModuleType, attr: str | None = None) -> WorkflowGraph:
    """The workflow graph of ``module``: ``attr`` if given, else the one
    top-level graph that is not a composite nor used inside another graph."""
    label = module.__name__
    if attr is not None:
        if not hasattr(module, attr):
            raise GraphError(f"module {label!r} has no attribute {attr!r}")
        value = getattr(module, attr)
        if callable(value) and not isinstance(value, WorkflowGraph):
            value = value()
        if not isinstance(value, WorkflowGraph):
            _refuse_real_dispel4py(label, {attr: value})
            raise GraphError(f"{label}:{attr} is a {type(value).__name__}, not a WorkflowGraph")
        return value
    graphs = {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, WorkflowGraph) and not is_composite(value)
    }
    nested = {
        id(node)
        for graph in graphs.values()
        for node in graph.nodes
        if isinstance(node, WorkflowGraph)
    }
    candidates = {name: g for name, g in graphs.items() if id(g) not in nested}
    unique: dict[int, str] = {}
    for name, graph in candidates.items():
        unique.setdefault(id(graph), name)
    if not unique:
        _refuse_real_dispel4py(label, vars(module))
        raise GraphError(f"module {label!r} defines no workflow graph (a top-level WorkflowGraph)")
    if len(unique) > 1:
        names = ", ".join(sorted(unique.values()))
        raise GraphError(
            f"module {label!r} defines several workflow graphs ({names}); choose one with -a/--attr"
        )
    return candidates[next(iter(unique.values()))]


def _refuse_real_dispel4py(label: str, namespace: dict[str, Any]) -> None:
    """A graph built with the real dispel4py package (installed here, so the
    compatibility layer stood aside) cannot run on d4p: say so."""
    for name, value in namespace.items():
        kind = type(value)
        if kind.__name__ == "WorkflowGraph" and kind.__module__.startswith("dispel4py"):
            raise GraphError(
                f"{label}.{name} is a graph of the real dispel4py package "
                f"({kind.__module__}.WorkflowGraph), which is installed in this "
                f"environment, so d4p's dispel4py compatibility layer stands aside. "
                f"Run it in an environment without dispel4py (pip uninstall "
                f"stream-d4py), or import from d4p_core instead of dispel4py"
            )


def load_graph(target: str, attr: str | None = None) -> WorkflowGraph:
    """Load a graph from ``module``, ``path/to/file.py`` or ``module:attr``."""
    if attr is None and ":" in target and not os.path.exists(target):
        target, attr = target.rsplit(":", 1)
    return find_graph(load_module(target), attr)
