"""Registering the ``dispel4py`` modules, backed by d4p, in ``sys.modules``."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["install"]

_MARKER = "__d4p_compat__"
_PACKAGES = ("dispel4py", "dispel4py.new")

# dispel4py module -> [(d4p module, names it provides)]
_EXPORTS: dict[str, list[tuple[str, Sequence[str]]]] = {
    "dispel4py.core": [
        (
            "d4p_core.model.pe",
            ("GenericPE", "NAME", "TYPE", "GROUPING", "WRITER", "DESCRIPTION", "META"),
        ),
    ],
    "dispel4py.base": [
        ("d4p_core.model.pe", ("GenericPE", "NAME", "TYPE", "GROUPING")),
        ("d4p_core.model.graph", ("WorkflowGraph",)),
        (
            "d4p_core.model.helpers",
            ("BasePE", "ConsumerPE", "IterativePE", "ProducerPE", "SimpleFunctionPE"),
        ),
        ("d4p_core.model.composite", ("CompositePE", "create_iterative_chain")),
    ],
    "dispel4py.workflow_graph": [
        ("d4p_core.compat._workflow_graph", ("WorkflowGraph", "draw", "drawDot", "write_image")),
    ],
    "dispel4py.utils": [
        ("d4p_core.compat._utils", ("findWorkflowGraph", "load_graph", "make_hash")),
    ],
    "dispel4py.new.processor": [
        (
            "d4p_core.compat._processor",
            ("create_arg_parser", "create_inputs", "get_inputs", "load_graph_and_inputs"),
        ),
    ],
    "dispel4py.new.simple_process": [
        ("d4p_core.compat._simple_process", ("process", "process_and_return")),
    ],
    "dispel4py.new.aggregate": [
        (
            "d4p_core.compat._aggregate",
            ("AggregatePE", "ContinuousReducePE", "CountPE", "MaxPE", "MinPE", "SumPE"),
        ),
        (
            "d4p_core.compat._statistics",
            ("AverageParallelPE", "AverageReducePE", "StdDevPE", "StdDevReducePE"),
        ),
        (
            "d4p_core.compat._parallel",
            (
                "parallel_aggregate",
                "parallel_count",
                "parallel_sum",
                "parallel_min",
                "parallel_max",
                "parallel_avg",
                "parallel_std_dev",
                "parallelCount",
                "parallelSum",
                "parallelMin",
                "parallelMax",
                "parallelAvg",
                "parallelStdDev",
            ),
        ),
    ],
    "dispel4py.new.monitoring": [
        ("d4p_core.compat._monitoring", ("Timer", "MonitoringWrapper", "ProcessTimingPE")),
    ],
}


class _MissingModuleFinder:
    """Explains, for ``dispel4py.*`` modules d4p does not provide, what to use."""

    @classmethod
    def find_spec(cls, fullname: str, path: object = None, target: object = None) -> None:
        root = sys.modules.get("dispel4py")
        if not fullname.startswith("dispel4py.") or not getattr(root, _MARKER, False):
            return None
        provided = ", ".join(sorted(_EXPORTS))
        raise ModuleNotFoundError(
            f"No module named {fullname!r}: the real dispel4py is not installed and d4p's "
            f"compatibility layer provides only {provided}; run workflows on other "
            "mappings with d4p (d4p_core.run or the d4p command)",
            name=fullname,
        )


def _new_module(name: str, *, package: bool) -> ModuleType:
    module = ModuleType(name, f"dispel4py compatibility module, backed by d4p ({name})")
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=package)
    module.__package__ = name if package else name.rpartition(".")[0]
    if package:
        module.__path__ = []
        # `from dispel4py.new import mpi_process` must say what is missing
        # (Python's from-import would otherwise swallow the finder's message).
        vars(module)["__getattr__"] = _missing_submodule(name)
    setattr(module, _MARKER, True)
    return module


def _missing_submodule(package: str) -> Any:
    def module_getattr(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        fullname = f"{package}.{attr}"
        if fullname in sys.modules:
            return sys.modules[fullname]
        _MissingModuleFinder.find_spec(fullname)
        raise AttributeError(f"module {package!r} has no attribute {attr!r}")

    return module_getattr


def _real_dispel4py_present() -> bool:
    try:
        return importlib.util.find_spec("dispel4py") is not None
    except (ImportError, ValueError):
        # ValueError: a module without a spec is registered as dispel4py.
        return True


def install() -> bool:
    """Make ``import dispel4py`` (and its core submodules) resolve to d4p.

    Does nothing and returns ``False`` when the real dispel4py is importable;
    returns ``True`` when the compatibility modules are installed (now or by
    an earlier call).
    """
    if getattr(sys.modules.get("dispel4py"), _MARKER, False):
        return True
    if _real_dispel4py_present():
        return False
    modules = {name: _new_module(name, package=True) for name in _PACKAGES}
    for name, sources in _EXPORTS.items():
        module = modules[name] = _new_module(name, package=False)
        exported: list[str] = []
        for source, names in sources:
            provider = importlib.import_module(source)
            for attr in names:
                setattr(module, attr, getattr(provider, attr))
                exported.append(attr)
        vars(module)["__all__"] = exported
    for name, module in sorted(modules.items()):
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(modules[parent], child, module)
    sys.modules.update(modules)
    if _MissingModuleFinder not in sys.meta_path:
        sys.meta_path.append(_MissingModuleFinder)
    return True
