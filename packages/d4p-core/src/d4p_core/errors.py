"""The one exception hierarchy of d4p.

Every error a user can cause is a :class:`D4pError`; the CLI maps each class to
an exit code and prints its message on one line.
"""

from __future__ import annotations


class D4pError(Exception):
    """Base class of every error d4p raises on purpose."""

    exit_code: int = 1


class GraphError(D4pError):
    """The workflow graph is malformed: bad port, cycle, too few processes..."""

    exit_code = 3


class InputError(D4pError, ValueError):
    """The inputs given to a run do not fit the graph (unknown PE, bad JSON...).

    Also a ``ValueError``, which is what dispel4py raised for bad inputs.
    """

    exit_code = 4


class MappingNotFoundError(D4pError):
    """No installed distribution provides the requested mapping."""

    exit_code = 5


class UnsupportedGraphError(D4pError):
    """The mapping cannot run this graph (e.g. stateful PEs on a dynamic mapping)."""

    exit_code = 6


class UndeclaredStateWarning(UserWarning):
    """Several round-robin instances of a PE each kept a part of state that
    ``process`` keeps in plain attributes (see ``GenericPE.check_state``)."""


class ServiceUnavailableError(D4pError):
    """A service the mapping needs (Redis, MPI, Storm...) cannot be reached."""

    exit_code = 7


class RunError(D4pError):
    """A PE failed while the workflow ran.

    Carries where it happened (PE id, instance, lifecycle phase, the offending
    input) and the traceback of the failure, which may come from another
    process or host.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        pe_id: str | None = None,
        instance: int | None = None,
        phase: str | None = None,
        input_repr: str | None = None,
        remote_traceback: str | None = None,
    ) -> None:
        super().__init__(message)
        self.pe_id = pe_id
        self.instance = instance
        self.phase = phase
        self.input_repr = input_repr
        self.remote_traceback = remote_traceback
