"""Loading the workflow named on the command line, with a distinct error for
"does not exist" (exit 8), "raised while importing" (9) and "no/several
graphs" (core's GraphError, 3). dispel4py modules load through
:func:`d4p_core.compat.install`."""

from __future__ import annotations

import importlib.util
import os
import traceback
from types import ModuleType

from d4p_core import D4pError, WorkflowGraph, find_graph, load_module
from d4p_core.compat import install

from ._errors import TargetImportError, TargetNotFoundError

__all__ = ["load_workflow", "split_target"]


def split_target(target: str, attr: str | None) -> tuple[str, str | None]:
    """``module:attr`` → (module, attr); a path that exists is never split."""
    if attr is None and ":" in target and not os.path.exists(target):
        source, _, attr = target.rpartition(":")
        return source, attr or None
    return target, attr


def _is_path(source: str) -> bool:
    return source.endswith(".py") or os.sep in source or bool(os.altsep and os.altsep in source)


def _where(error: BaseException) -> str:
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith("<frozen")
    ]
    if not frames:
        return ""
    last = frames[-1]
    return f" ({os.path.basename(last.filename)}, line {last.lineno})"


def _import_failed(what: str, error: BaseException) -> TargetImportError:
    return TargetImportError(
        f"{what} raised {type(error).__name__}: {error}{_where(error)}; "
        "run with --debug for the traceback"
    )


def _check_exists(source: str) -> None:
    if _is_path(source):
        if not os.path.isfile(source):
            raise TargetNotFoundError(f"cannot load workflow {source!r}: no such file")
        return
    try:
        spec = importlib.util.find_spec(source)
    except ModuleNotFoundError as error:
        if error.name is not None and source.startswith(error.name):
            spec = None
        else:
            raise _import_failed(f"importing workflow module {source!r}", error) from error
    except Exception as error:  # a parent package raised on import
        raise _import_failed(f"importing workflow module {source!r}", error) from error
    if spec is None:
        raise TargetNotFoundError(
            f"cannot load workflow {source!r}: no module named {source!r} "
            "(give a dotted module on the Python path or a path to a .py file)"
        )


def _load(source: str) -> ModuleType:
    _check_exists(source)
    try:
        return load_module(source)
    except D4pError:
        raise
    except (Exception, SystemExit) as error:
        raise _import_failed(f"importing workflow {source!r}", error) from error


def load_workflow(target: str, attr: str | None = None) -> WorkflowGraph:
    """The graph named by ``target`` (and ``attr``), importing its module."""
    install()
    source, attr = split_target(target, attr)
    module = _load(source)
    if attr is not None and not hasattr(module, attr):
        raise TargetNotFoundError(f"workflow module {source!r} has no attribute {attr!r}")
    try:
        return find_graph(module, attr)
    except D4pError:
        raise
    except Exception as error:
        raise _import_failed(f"building the graph {source}:{attr}", error) from error
