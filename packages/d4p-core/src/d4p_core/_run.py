"""The library entry point: run a graph on any installed mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .inputs import Inputs
    from .mapping import Mapping
    from .model.graph import WorkflowGraph
    from .runtime.result import RunResult
    from .runtime.streaming import ResultCallback

__all__ = ["run"]


def run(
    graph: WorkflowGraph,
    mapping: str | Mapping[Any] = "simple",
    inputs: Inputs = None,
    processes: int | None = None,
    *,
    on_result: ResultCallback | None = None,
    **options: Any,
) -> RunResult:
    """Run ``graph`` on ``mapping`` and return its :class:`RunResult`.

    ``inputs``: ``None`` (every source once), an int (every source that many
    times) or ``{pe | name | id: N | [input blocks]}``. ``processes`` sizes
    parallel mappings; other keyword arguments are the mapping's options.
    ``on_result(pe_id, output, value)``: called in this process for each
    result as it arrives; the results are then not kept in
    ``RunResult.outputs`` (see also :func:`d4p_core.stream`).
    """
    from .mapping import load_mapping  # mappings load on first use
    from .runtime.streaming import results_to

    selected = load_mapping(mapping) if isinstance(mapping, str) else mapping
    chosen = selected.options_from_kwargs(processes, **options)
    if on_result is None:  # (or the callback of an enclosing results_to block)
        return selected.run(graph, inputs, chosen)
    with results_to(on_result):
        return selected.run(graph, inputs, chosen)
