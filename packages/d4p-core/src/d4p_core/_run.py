"""The library entry point: run a graph on any installed mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .inputs import Inputs
    from .mapping import Mapping
    from .model.graph import WorkflowGraph
    from .runtime.result import RunResult

__all__ = ["run"]


def run(
    graph: WorkflowGraph,
    mapping: str | Mapping[Any] = "simple",
    inputs: Inputs = None,
    processes: int | None = None,
    **options: Any,
) -> RunResult:
    """Run ``graph`` on ``mapping`` and return its :class:`RunResult`.

    ``inputs``: ``None`` (every source once), an int (every source that many
    times) or ``{pe | name | id: N | [input blocks]}``. ``processes`` sizes
    parallel mappings; other keyword arguments are the mapping's options.
    """
    from .mapping import load_mapping  # mappings load on first use

    selected = load_mapping(mapping) if isinstance(mapping, str) else mapping
    return selected.run(graph, inputs, selected.options_from_kwargs(processes, **options))
