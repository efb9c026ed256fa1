"""The PEs of a run as other processes receive them (one pickled payload,
so every start method works and the caller's graph is never mutated)."""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Iterable
from dataclasses import dataclass

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
        that cannot be pickled are handed over in memory instead."""
        compat = getattr(sys.modules.get("dispel4py"), "__d4p_compat__", False) is True
        roots, main_path = _import_context(pes.values())
        context = (tuple(file_modules().items()), compat, roots, main_path)
        try:
            blob = pickle.dumps(pes, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            if start_method == "fork":
                return cls(None, pes, *context)
            where = f"{mapping} (start method {start_method!r})" if start_method else mapping
            hint = ", or use the 'fork' start method" if start_method is not None else ""
            raise GraphError(
                f"the PEs cannot be sent to the worker processes of {where}: {exc}. "
                f"Define PE classes and functions at module level (no lambdas or "
                f"local classes){hint}"
            ) from exc
        return cls(blob, None, *context)

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


def _import_context(pes: Iterable[GenericPE]) -> tuple[tuple[str, ...], str | None]:
    """Directories to import the PE classes' modules from, and the main
    script if a PE class is defined in it."""
    roots: list[str] = []
    main_path: str | None = None
    for pe in pes:
        module = sys.modules.get(type(pe).__module__)
        path = getattr(module, "__file__", None)
        if module is None or path is None:
            continue
        if module.__name__ == "__main__":
            main_path = os.path.abspath(path)
            continue
        root = os.path.abspath(path)
        for _ in module.__name__.split("."):
            root = os.path.dirname(root)
        if os.path.basename(path) == "__init__.py":
            root = os.path.dirname(root)
        if root not in roots:
            roots.append(root)
    return tuple(roots), main_path
