"""The workflow graph: PEs (and composites) joined by explicit connections.

Every ``connect()`` call is one :class:`Connection`; two connections between
the same ports deliver every item twice, as in dispel4py. Composites (any
``WorkflowGraph`` with ``inputmappings``/``outputmappings``) stay nodes until
the graph is flattened; :meth:`WorkflowGraph.flat` gives the flat view that
plans are built from, with every connection kept.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union

from ..errors import GraphError
from .pe import TYPE, GenericPE

__all__ = ["Connection", "FlatGraph", "Node", "WorkflowGraph", "is_composite"]

Node = Union[GenericPE, "WorkflowGraph"]


@dataclass(frozen=True, eq=False)
class Connection:
    """One directed connection from an output port to an input port."""

    src: Node
    src_port: str
    dst: Node
    dst_port: str

    def __str__(self) -> str:
        return f"{_label(self.src)}.{self.src_port} -> {_label(self.dst)}.{self.dst_port}"


@dataclass(frozen=True)
class FlatGraph:
    """A graph with every composite expanded: PEs in graph order and
    connections between PEs only."""

    pes: tuple[GenericPE, ...]
    connections: tuple[Connection, ...]

    def by_id(self) -> dict[str, GenericPE]:
        return {pe.id: pe for pe in self.pes}

    def topological_ids(self) -> list[str]:
        """PE ids in a deterministic topological order (graph order breaks ties)."""
        ids = [pe.id for pe in self.pes]
        order = _topological_order(
            len(ids),
            [(ids.index(_pe(c.src).id), ids.index(_pe(c.dst).id)) for c in self.connections],
        )
        if order is None:
            raise GraphError("the workflow has a cycle")  # flat() names it first
        return [ids[i] for i in order]


def is_composite(node: Any) -> bool:
    """True for a WorkflowGraph used as a node (it maps inputs or outputs)."""
    return isinstance(node, WorkflowGraph) and (
        getattr(node, "inputmappings", None) is not None
        or getattr(node, "outputmappings", None) is not None
    )


def _label(node: Node) -> str:
    if isinstance(node, GenericPE):
        return node.id
    return type(node).__name__


def _pe(node: Node) -> GenericPE:
    assert isinstance(node, GenericPE)
    return node


class WorkflowGraph:
    """A directed graph of PEs joined by named streams."""

    inputmappings: dict[str, tuple[Node, str]] | None = None
    outputmappings: dict[str, tuple[Node, str]] | None = None
    partitions: list[list[GenericPE]] | None = None

    def __init__(self) -> None:
        self._nodes: list[Node] = []
        self._connections: list[Connection] = []

    # -- building ------------------------------------------------------------
    def add(self, node: Node) -> None:
        """Add a PE or composite (adding the same object twice is a no-op)."""
        if any(existing is node for existing in self._nodes):
            return
        if isinstance(node, GenericPE):
            taken = {pe.id for pe in self._iter_pes()}
            index = len(self._nodes)
            while f"{node.name}{index}" in taken:
                index += 1
            node.id = f"{node.name}{index}"
        elif not isinstance(node, WorkflowGraph):
            raise GraphError(
                f"cannot add {node!r} to a workflow: only PEs (GenericPE) and "
                "composite graphs can be nodes"
            )
        elif node is self:
            raise GraphError("a workflow graph cannot contain itself")
        self._nodes.append(node)

    def connect(self, from_pe: Node, from_output: str, to_pe: Node, to_input: str) -> None:
        """Connect output ``from_output`` of ``from_pe`` to input ``to_input`` of ``to_pe``."""
        _check_port(from_pe, from_output, "output")
        _check_port(to_pe, to_input, "input")
        connection = Connection(from_pe, from_output, to_pe, to_input)
        _check_acyclic(
            [*self._nodes, from_pe, to_pe], [*self._connections, connection], only_pes=True
        )
        self.add(from_pe)
        self.add(to_pe)
        self._connections.append(connection)

    # -- views ---------------------------------------------------------------
    @property
    def nodes(self) -> tuple[Node, ...]:
        return tuple(self._nodes)

    @property
    def connections(self) -> tuple[Connection, ...]:
        return tuple(self._connections)

    def _iter_pes(self) -> Iterator[GenericPE]:
        for node in self._nodes:
            if isinstance(node, GenericPE):
                yield node
            else:
                yield from node._iter_pes()

    def flat(self) -> FlatGraph:
        """The flattened view: composites expanded, every connection kept,
        ids made unique (a PE whose id repeats another's is renamed), cycles
        rejected. The graph's nodes and connections are not changed."""
        pes: list[GenericPE] = []
        connections: list[Connection] = []
        _expand(self, pes, connections)
        seen: set[str] = set()
        for index, pe in enumerate(pes):
            if pe.id in seen:
                bump = index
                while f"{pe.name}{bump}" in seen:
                    bump += 1
                pe.id = f"{pe.name}{bump}"
            seen.add(pe.id)
        _check_acyclic(list(pes), connections, only_pes=False)
        return FlatGraph(tuple(pes), tuple(connections))

    def flatten(self) -> WorkflowGraph:
        """Expand composites in place (dispel4py API); returns the graph."""
        view = self.flat()
        self._nodes = list(view.pes)
        self._connections = list(view.connections)
        return self

    def get_contained_objects(self) -> list[GenericPE]:
        """Every PE of the graph (composites expanded), sorted by id."""
        return sorted(self.flat().pes, key=lambda pe: pe.id)

    getContainedObjects = get_contained_objects

    def propagate_types(self) -> None:
        """Copy each output's declared type to the inputs it is connected to."""
        view = self.flat()
        by_id = view.by_id()
        order = {pe_id: i for i, pe_id in enumerate(view.topological_ids())}
        for connection in sorted(view.connections, key=lambda c: order[_pe(c.src).id]):
            src = by_id[_pe(connection.src).id]
            tuple_type = src.outputconnections.get(connection.src_port, {}).get(TYPE)
            if tuple_type is not None:
                _pe(connection.dst).set_input_types({connection.dst_port: tuple_type})

    def to_dot(self) -> str:
        """Graphviz source of the graph (composites drawn as clusters)."""
        from ._dot import graph_to_dot

        return graph_to_dot(self)

    def render(self, path: str, fmt: str | None = None) -> None:
        """Render the graph to an image file with Graphviz's ``dot`` program."""
        from ._dot import render_dot

        render_dot(self.to_dot(), path, fmt)


def _check_port(node: Node, port: str, kind: str) -> None:
    if isinstance(node, GenericPE):
        declared = node.outputconnections if kind == "output" else node.inputconnections
        if port not in declared:
            raise GraphError(
                f"PE {node.id!r} ({type(node).__name__}) has no {kind} {port!r}; "
                f"declared {kind}s: {sorted(declared) or 'none'}"
            )
    elif isinstance(node, WorkflowGraph):
        mappings = node.outputmappings if kind == "output" else node.inputmappings
        if not mappings or port not in mappings:
            raise GraphError(
                f"composite {type(node).__name__} maps no {kind} {port!r}; "
                f"mapped {kind}s: {sorted(mappings or {}) or 'none'}"
            )
    else:
        raise GraphError(
            f"cannot connect {node!r}: only PEs (GenericPE) and composite graphs can be connected"
        )


def _resolve(node: Node, port: str, kind: str) -> tuple[GenericPE, str]:
    """Follow composite port mappings down to a PE port."""
    seen = 0
    while not isinstance(node, GenericPE):
        mappings = node.outputmappings if kind == "output" else node.inputmappings
        if not mappings or port not in mappings:
            raise GraphError(f"composite {type(node).__name__} maps no {kind} {port!r}")
        node, port = mappings[port]
        seen += 1
        if seen > 1000:
            raise GraphError("composite port mappings loop")
    return node, port


def _expand(graph: WorkflowGraph, pes: list[GenericPE], connections: list[Connection]) -> None:
    for node in graph._nodes:
        if isinstance(node, GenericPE):
            if not any(existing is node for existing in pes):
                pes.append(node)
        else:
            _expand(node, pes, connections)
    for connection in graph._connections:
        src, src_port = _resolve(connection.src, connection.src_port, "output")
        dst, dst_port = _resolve(connection.dst, connection.dst_port, "input")
        connections.append(Connection(src, src_port, dst, dst_port))


def _topological_order(count: int, edges: list[tuple[int, int]]) -> list[int] | None:
    """Kahn's algorithm over node indices, smallest available index first;
    ``None`` if there is a cycle."""
    successors: list[list[int]] = [[] for _ in range(count)]
    indegree = [0] * count
    for src, dst in edges:
        successors[src].append(dst)
        indegree[dst] += 1
    ready = [i for i in range(count) if indegree[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    return order if len(order) == count else None


def _check_acyclic(nodes: list[Node], connections: list[Connection], *, only_pes: bool) -> None:
    """Raise GraphError naming the cycle, if there is one."""
    index: dict[int, int] = {}
    for node in nodes:
        index.setdefault(id(node), len(index))
    kept = [
        c
        for c in connections
        if not only_pes or (isinstance(c.src, GenericPE) and isinstance(c.dst, GenericPE))
    ]
    for c in kept:
        index.setdefault(id(c.src), len(index))
        index.setdefault(id(c.dst), len(index))
    edges = [(index[id(c.src)], index[id(c.dst)]) for c in kept]
    if _topological_order(len(index), edges) is not None:
        return
    # Only now pay for networkx, to name the cycle.
    import networkx as nx

    digraph: nx.MultiDiGraph[int] = nx.MultiDiGraph()
    digraph.add_nodes_from(id(node) for node in nodes)
    labels = {id(node): _label(node) for node in nodes}
    for connection in connections:
        if only_pes and not (
            isinstance(connection.src, GenericPE) and isinstance(connection.dst, GenericPE)
        ):
            continue
        labels.setdefault(id(connection.src), _label(connection.src))
        labels.setdefault(id(connection.dst), _label(connection.dst))
        digraph.add_edge(id(connection.src), id(connection.dst))
    try:
        cycle = nx.find_cycle(digraph)
    except nx.NetworkXNoCycle:
        return
    path = [labels[edge[0]] for edge in cycle] + [labels[cycle[0][0]]]
    raise GraphError(f"the workflow has a cycle: {' -> '.join(path)}; cycles are not supported")
