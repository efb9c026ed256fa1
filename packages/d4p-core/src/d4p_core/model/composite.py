"""Composite PEs: sub-graphs that are used as one node of a bigger graph."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .graph import Node, WorkflowGraph
from .helpers import SimpleFunctionPE
from .pe import GenericPE

__all__ = ["CompositePE", "create_iterative_chain"]

ChainStep = Callable[..., Any] | tuple[Callable[..., Any], dict[str, Any]]


class CompositePE(WorkflowGraph):
    """A sub-graph with named inputs and outputs mapped to inner PE ports.

    ``create_graph(self, **params)`` builds the inside; it calls
    :meth:`_map_input` / :meth:`_map_output` to expose inner ports.
    """

    def __init__(
        self,
        create_graph: Callable[..., Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.inputmappings: dict[str, tuple[Node, str]] = {}
        self.outputmappings: dict[str, tuple[Node, str]] = {}
        if create_graph is not None:
            create_graph(self, **(params or {}))

    def _map_input(self, name: str, pe: Node, input_name: str) -> None:
        """Expose input ``input_name`` of inner ``pe`` as this composite's ``name``."""
        self.add(pe)
        self.inputmappings[name] = (pe, input_name)

    def _map_output(self, name: str, pe: Node, output_name: str) -> None:
        """Expose output ``output_name`` of inner ``pe`` as this composite's ``name``."""
        self.add(pe)
        self.outputmappings[name] = (pe, output_name)

    map_input = _map_input
    map_output = _map_output


def create_iterative_chain(
    functions: Sequence[ChainStep],
    FunctionPE_class: type[GenericPE] = SimpleFunctionPE,  # noqa: N803 - dispel4py name
    name_prefix: str = "PE_",
    name_suffix: str = "",
    *,
    function_pe_class: type[GenericPE] | None = None,
) -> CompositePE:
    """A pipeline of function PEs, one per element of ``functions``.

    Each element is ``fn`` or ``(fn, params)``; PE names are
    ``name_prefix + fn.__name__ + name_suffix``. The result is a composite with
    input ``input`` and output ``output``.
    """
    if not functions:
        raise ValueError("create_iterative_chain needs at least one function")
    pe_class = function_pe_class or FunctionPE_class
    composite = CompositePE()
    previous: GenericPE | None = None
    first: GenericPE | None = None
    for step in functions:
        if isinstance(step, tuple):
            fn, params = step
        else:
            fn, params = step, {}
        pe = pe_class(fn, params)  # type: ignore[call-arg, arg-type]
        pe.name = f"{name_prefix}{fn.__name__}{name_suffix}"
        if previous is None:
            composite.add(pe)
            first = pe
        else:
            composite.connect(previous, "output", pe, "input")
        previous = pe
    assert first is not None
    assert previous is not None
    composite.inputmappings = {"input": (first, "input")}
    composite.outputmappings = {"output": (previous, "output")}
    return composite
