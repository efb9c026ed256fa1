"""The processing element (PE) API, source compatible with dispel4py.

A PE declares named inputs and outputs in the ``inputconnections`` and
``outputconnections`` dicts (which existing workflows edit directly, also after
construction), receives one input block per :meth:`GenericPE.process` call and
emits by returning ``{output: value}`` or by calling :meth:`GenericPE.write`.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import logging

__all__ = [
    "DESCRIPTION",
    "GROUPING",
    "META",
    "NAME",
    "TYPE",
    "WRITER",
    "GenericPE",
    "OutputWriter",
]

NAME = "name"
TYPE = "type"
GROUPING = "grouping"
WRITER = "writer"
DESCRIPTION = "descr"
META = "meta"


LOG_LEVEL_ENV = "D4P_LOG_LEVEL"
"""Level of the ``d4p`` loggers in this process and the ones it starts
(``debug``, ``info``, ``warning``, ``error``; ``d4p run -v/-q/--log-level``)."""


def _pe_logger(pe_id: str) -> logging.Logger:
    """The logger ``d4p.pe.<pe_id>``. PE log lines are part of what a user
    sees, as in dispel4py: unless the application configured logging itself
    they go to stderr, at the level ``D4P_LOG_LEVEL`` names (default info).
    (logging is imported on the first log line: ``import d4p_core`` stays light.)"""
    import logging

    parent = logging.getLogger("d4p.pe")
    if not parent.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        parent.addHandler(handler)
        try:
            parent.setLevel(os.environ.get(LOG_LEVEL_ENV, "info").upper())
        except ValueError:  # a misspelt level: the default
            parent.setLevel(logging.INFO)
        parent.propagate = False
    return logging.getLogger(f"d4p.pe.{pe_id}")


class OutputWriter(Protocol):
    """What the engine installs under ``outputconnections[name][WRITER]``."""

    def write(self, data: Any) -> None: ...


class GenericPE:
    """Base class of every processing element.

    Subclasses declare ports with :meth:`_add_input` / :meth:`_add_output` (or
    by assigning the connection dicts) and override :meth:`_process` (or
    :meth:`process`), and optionally :meth:`_preprocess` / :meth:`_postprocess`.
    """

    stateful: Any = False
    """Truthy when instances keep state that must not be split (see Plan)."""

    check_state: bool = True
    """Where a mapping runs copies of a PE that is not ``stateful`` (dynamic
    workers, or several round-robin instances), the engine watches whether
    ``process`` changes the PE's attributes, which would split that state
    between the copies: an error on dynamic mappings, a warning on fixed
    ones. A PE with a postprocess step is not watched: writing out what it
    gathered makes it a partial aggregate (every copy reports its part, a
    PE downstream combines them). Set it to ``False`` on a PE class whose
    changing attributes are only caches (a lazily loaded model, a memo)."""

    def __init__(self, numprocesses: int = 1) -> None:
        self.inputconnections: dict[str, dict[str, Any]] = {}
        self.outputconnections: dict[str, dict[str, Any]] = {}
        self.wrapper: Any = "simple"
        # dispel4py's list of the attributes set so far. Spelled out: reading
        # vars(self) would give the object a real __dict__, which makes every
        # attribute access of the PE slower for its whole life (CPython 3.11+).
        self.pickleIgnore = ["inputconnections", "outputconnections", "wrapper"]
        self.numprocesses = numprocesses
        self.name = type(self).__name__
        self.id = self.name
        self.rank = 0
        self.instance = 0

    # -- declaring ports -------------------------------------------------
    def _add_input(self, name: str, grouping: Any = None, tuple_type: Any = None) -> None:
        """Declare input ``name`` with an optional grouping and tuple type."""
        connection: dict[str, Any] = {NAME: name}
        if grouping:
            connection[GROUPING] = grouping
        if tuple_type:
            connection[TYPE] = tuple_type
        self.inputconnections[name] = connection

    def _add_output(self, name: str, tuple_type: Any = None) -> None:
        """Declare output ``name`` with an optional tuple type."""
        connection: dict[str, Any] = {NAME: name}
        if tuple_type:
            connection[TYPE] = tuple_type
        self.outputconnections[name] = connection

    add_input = _add_input
    add_output = _add_output

    # -- lifecycle ---------------------------------------------------------
    def preprocess(self) -> None:
        """Called once per instance before any data."""
        self._preprocess()

    def _preprocess(self) -> None:
        pass

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """Process one input block ``{input_name: value}``.

        Returns ``None`` or ``{output_name: value}``; each value is emitted once.
        """
        result: dict[str, Any] | None = self._process(inputs)
        return result

    def _process(self, inputs: Any) -> Any:
        return None

    def postprocess(self) -> None:
        """Called once per instance after all its upstream instances finished."""
        self._postprocess()

    def _postprocess(self) -> None:
        pass

    # -- emitting ------------------------------------------------------------
    def write(self, name: str, data: Any) -> None:
        """Emit ``data`` on output ``name`` (any number of times per call)."""
        connection = self.outputconnections.get(name)
        if connection is None:
            raise KeyError(
                f"Can't write data: unknown output {name!r} of PE {self.id!r}; "
                f"declared outputs: {sorted(self.outputconnections)}"
            )
        writer = connection.get(WRITER)
        if writer is None:
            raise RuntimeError(
                f"Can't write data to {self.id}.{name}: the PE is not running in a mapping"
            )
        writer.write(data)

    def log(self, msg: Any) -> None:
        """Log a message prefixed with the PE id and instance."""
        _pe_logger(self.id).info("%s (rank %s): %s", self.id, self.rank, msg)

    # -- types (only some mappings use them) ----------------------------------
    def set_input_types(self, types: dict[str, Any]) -> None:
        """Hook called by :meth:`WorkflowGraph.propagate_types`."""
        for name, tuple_type in types.items():
            if name in self.inputconnections and tuple_type is not None:
                self.inputconnections[name][TYPE] = tuple_type

    def get_output_types(self) -> dict[str, Any]:
        """``{output: type}`` for every output (``KeyError`` if one has no type)."""
        return {name: conn[TYPE] for name, conn in self.outputconnections.items()}

    setInputTypes = set_input_types
    getOutputTypes = get_output_types

    # -- pickling: writers belong to the running engine, never travel -------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(vars(self))
        for key in ("inputconnections", "outputconnections"):
            connections = state.get(key)
            if isinstance(connections, dict):
                state[key] = {
                    port: {k: v for k, v in conn.items() if k != WRITER}
                    if isinstance(conn, dict)
                    else conn
                    for port, conn in connections.items()
                }
        if not isinstance(state.get("wrapper"), str):
            state["wrapper"] = "simple"
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Attribute by attribute (not vars(self).update): the copy keeps
        # CPython's compact attribute storage, so its attributes read fast.
        for key, value in state.items():
            try:
                object.__setattr__(self, key, value)
            except AttributeError:  # a read-only descriptor of the class
                vars(self)[key] = value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"
