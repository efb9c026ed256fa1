"""The PEs of a run as other processes receive them (one pickled payload,
so every start method works and the caller's graph is never mutated)."""

from __future__ import annotations

import io
import os
import pickle
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from types import FunctionType
from typing import Any

from ..errors import GraphError
from ..loader import file_modules, load_file_module
from ..model.pe import GenericPE

__all__ = ["GraphPayload"]


@dataclass(frozen=True)
class GraphPayload:
    """The PEs of a flat graph, as other processes receive them.

    Besides the pickled PEs it carries what another interpreter needs to
    unpickle them: workflow modules loaded from a file path, the directories
    the PE classes' packages are imported from, the user's main script (PEs
    defined in ``python my_workflow.py``), and whether the dispel4py
    compatibility layer was in use.

    Classes and functions that no other interpreter could import travel *by
    value* (cloudpickle): those of a ``__main__`` with no script file (a
    notebook, the REPL, ``python - < workflow.py``), lambdas and local
    classes. Everything else travels by reference, as plain pickle does.
    """

    blob: bytes | None
    pes: dict[str, GenericPE] | None
    modules: tuple[tuple[str, str], ...]
    compat: bool
    import_roots: tuple[str, ...] = ()
    main_path: str | None = None

    @classmethod
    def create(
        cls, pes: dict[str, GenericPE], mapping: str, start_method: str | None = None
    ) -> GraphPayload:
        """The payload of ``pes`` for ``mapping``'s workers. ``start_method``:
        how its local worker processes start; ``None`` where the PEs always
        travel as bytes (other hosts, another launcher). Under ``fork``, PEs
        that plain pickle refuses are handed over in memory instead."""
        compat = getattr(sys.modules.get("dispel4py"), "__d4p_compat__", False) is True
        roots = _import_roots(pes.values())
        try:
            blob, referenced = _pickle_by_reference(pes)
        except Exception:  # noqa: BLE001 - whatever plain pickle refuses goes by value
            # By value, any workflow file loaded so far may be referenced.
            context = (tuple(file_modules().items()), compat, roots)
            if start_method == "fork":  # the children inherit the objects themselves
                return cls(None, pes, *context)
            return cls(_pickle_by_value(pes, mapping, start_method), None, *context)
        # Only the workflow files the PEs come from: another file loaded
        # earlier in this process (a notebook, a test session) is not re-run.
        needed = tuple((n, path) for n, path in file_modules().items() if n in referenced)
        context = (needed, compat, roots)
        if "__main__" not in referenced:
            return cls(blob, None, *context)
        script = _main_script()
        if script is None:  # nothing the receiver could import __main__ from
            return cls(_pickle_by_value(pes, mapping, start_method), None, *context)
        return cls(blob, None, *context, script)

    def load(self) -> dict[str, GenericPE]:
        if self.compat:
            from ..compat import install

            install()
        for root in self.import_roots:
            if root not in sys.path:
                sys.path.append(root)
        running_main = getattr(sys.modules.get("__main__"), "__file__", None)
        # Spawned and forked workers already run the user's script as
        # __main__; other launchers (mpiexec) run their own.
        if self.main_path is not None and (
            running_main is None or os.path.abspath(running_main) != self.main_path
        ):
            # As multiprocessing's spawn does: the script runs as __mp_main__,
            # so its `if __name__ == "__main__":` block does not run again.
            sys.modules["__main__"] = load_file_module("__mp_main__", self.main_path)
        for name, path in self.modules:
            load_file_module(name, path)
        if self.blob is not None:
            pes: dict[str, GenericPE] = pickle.loads(self.blob)
            return pes
        assert self.pes is not None
        return self.pes


class _ReferencePickler(pickle.Pickler):
    """Plain pickle that notes the modules of the classes and functions it
    pickles by reference (the receiver must import them: ``__main__`` too)."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.referenced: set[str] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (type, FunctionType)):
            self.referenced.add(obj.__module__)
        return NotImplemented


def _pickle_by_reference(pes: dict[str, GenericPE]) -> tuple[bytes, set[str]]:
    buffer = io.BytesIO()
    pickler = _ReferencePickler(buffer)
    pickler.dump(pes)
    return buffer.getvalue(), pickler.referenced


def _pickle_by_value(pes: dict[str, GenericPE], mapping: str, start_method: str | None) -> bytes:
    """cloudpickle: ``__main__``'s classes and functions, lambdas and local
    classes by value (their code travels), every importable one by reference."""
    import cloudpickle

    try:
        blob: bytes = cloudpickle.dumps(pes, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        where = f"{mapping} (start method {start_method!r})" if start_method else mapping
        hint = ", or use the 'fork' start method" if start_method is not None else ""
        raise GraphError(
            f"the PEs cannot be sent to the worker processes of {where}: {exc}. A PE "
            f"holds something that cannot be copied to another process (an open file, "
            f"a lock, a connection): create it in the PE's preprocess() instead{hint}"
        ) from exc
    return blob


def _main_script() -> str | None:
    """The user's main script, if ``__main__`` was run from a file (not a
    notebook, the REPL, ``python -c`` or ``python - < file``)."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    if isinstance(path, str) and os.path.isfile(path):
        return os.path.abspath(path)
    return None


def _import_roots(pes: Iterable[GenericPE]) -> tuple[str, ...]:
    """Directories to import the PE classes' modules from."""
    roots: list[str] = []
    for pe in pes:
        module = sys.modules.get(type(pe).__module__)
        path = getattr(module, "__file__", None)
        if module is None or path is None or module.__name__ == "__main__":
            continue
        root = os.path.abspath(path)
        for _ in module.__name__.split("."):
            root = os.path.dirname(root)
        if os.path.basename(path) == "__init__.py":
            root = os.path.dirname(root)
        if root not in roots:
            roots.append(root)
    return tuple(roots)
