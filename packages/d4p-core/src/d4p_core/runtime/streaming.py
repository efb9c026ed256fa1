"""Results as they arrive, instead of all at the end.

``d4p_core.run(..., on_result=f)`` calls ``f(pe_id, output, value)`` in the
calling process for every result, as the mapping receives it, and keeps
none of them (``RunResult.outputs`` stays empty): memory does not grow with
the number of results. ``d4p_core.stream(...)`` turns that into an iterator.

Mappings take the callback from :func:`result_callback` (a context
variable, so concurrent runs in threads do not mix): the driver-side
``ReportSink`` and ``simple`` call it directly (``mpi``, when d4p launched
the job, forwards rank 0's results to the driver as they come); a backend
whose results only reach the driver at the end still has them delivered,
by the mapping template, when its run ends.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

from .result import Outputs

__all__ = ["ResultCallback", "deliver", "result_callback", "results_to"]

ResultCallback = Callable[[str, str, Any], None]
"""``(pe_id, output, value)`` for one result."""

_callback: contextvars.ContextVar[ResultCallback | None] = contextvars.ContextVar(
    "d4p_result_callback", default=None
)


def result_callback() -> ResultCallback | None:
    """Where the current run's results go as they arrive (``None``: into
    ``RunResult.outputs``)."""
    return _callback.get()


@contextlib.contextmanager
def results_to(callback: ResultCallback | None) -> Iterator[None]:
    """Within the block, runs hand each result to ``callback``."""
    token = _callback.set(callback)
    try:
        yield
    finally:
        _callback.reset(token)


def deliver(outputs: Outputs, callback: ResultCallback) -> None:
    """Hand results held in ``outputs`` to ``callback`` (and empty it)."""
    for pe_id, by_output in outputs.items():
        for output, values in by_output.items():
            for value in values:
                callback(pe_id, output, value)
    outputs.clear()
