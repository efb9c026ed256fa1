"""What a drawing of a workflow shows: its PEs with their instance counts and
its connections with their groupings, read from the plan.

``d4p graph`` and the run report both draw from this one view, so the two
always agree on what a grouping is called and how many instances a PE has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from d4p_core.backend import Plan

__all__ = ["EdgeView", "NodeView", "Topology"]


@dataclass(frozen=True)
class NodeView:
    """One PE: its id, how many instances run it and what kind of PE it is."""

    pe_id: str
    instances: int
    source: bool
    stateful: bool
    results: tuple[str, ...]
    """Outputs with no connection: their items are results of the run."""

    @property
    def instances_text(self) -> str:
        return f"{self.instances} instance{'' if self.instances == 1 else 's'}"


@dataclass(frozen=True)
class EdgeView:
    """One connection, from an output of a PE to an input of another."""

    src: str
    src_output: str
    dst: str
    dst_input: str
    grouping: str
    """How items spread over the receiver's instances: ``shuffle``,
    ``group_by[keys]``, ``broadcast`` or ``global``."""

    @property
    def default_ports(self) -> bool:
        """True when both ports have the usual names (a label need not repeat them)."""
        return self.src_output == "output" and self.dst_input == "input"

    @property
    def label(self) -> str:
        if self.default_ports:
            return self.grouping
        return f"{self.src_output} → {self.dst_input}: {self.grouping}"


@dataclass(frozen=True)
class Topology:
    """The PEs (in topological order) and connections of a planned workflow."""

    nodes: tuple[NodeView, ...]
    edges: tuple[EdgeView, ...]

    @classmethod
    def from_plan(cls, plan: Plan, instances: Mapping[str, int] | None = None) -> Topology:
        """The view of ``plan``; ``instances`` overrides the planned counts
        (a report shows how many instances actually ran each PE)."""
        counts = {**plan.instances, **(instances or {})}
        nodes = tuple(
            NodeView(
                pe_id=pe_id,
                instances=counts[pe_id],
                source=pe_id in plan.sources,
                stateful=pe_id in plan.stateful,
                results=plan.unconnected_outputs(pe_id),
            )
            for pe_id in plan.pe_ids
        )
        edges = tuple(
            EdgeView(src, output, route.dst_pe, route.dst_input, str(route.grouping))
            for (src, output), routes in plan.routes.items()
            for route in routes
        )
        return cls(nodes, edges)

    def node(self, pe_id: str) -> NodeView:
        for node in self.nodes:
            if node.pe_id == pe_id:
                return node
        raise KeyError(pe_id)

    def grouping(self, src: str, src_output: str, dst: str, dst_input: str) -> str:
        """The grouping of one connection of the plan."""
        for edge in self.edges:
            if (edge.src, edge.src_output, edge.dst, edge.dst_input) == (
                src,
                src_output,
                dst,
                dst_input,
            ):
                return edge.grouping
        raise KeyError(f"{src}.{src_output} -> {dst}.{dst_input}")
