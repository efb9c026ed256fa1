"""Graphviz source of a workflow with what the plan adds: each PE's instance
count and each connection's grouping.

Core's ``WorkflowGraph.to_dot()`` draws the structure only (PEs as records
with their ports, composites as clusters). This writer draws the same
structure and labels it from a :class:`Topology`, so ``d4p graph`` shows how
a run spreads items and instances.
"""

from __future__ import annotations

from d4p_core import GenericPE, WorkflowGraph

from ._topology import Topology

__all__ = ["labelled_dot"]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _record_escape(text: str) -> str:
    """Escape ``text`` for a record label (inside a quoted string)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    for char in "{}|<> ":
        text = text.replace(char, "\\" + char)
    return text


def _port_id(port: str) -> str:
    """A port name as a record field id (any character but the record syntax's own)."""
    return "".join(char if char.isalnum() or char == "_" else f"_{ord(char):x}_" for char in port)


class _Writer:
    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.node_ids: dict[int, str] = {}
        self.lines: list[str] = []
        self.edges: list[str] = []
        self.clusters = 0

    def endpoint(
        self, node: GenericPE | WorkflowGraph, port: str, kind: str
    ) -> tuple[GenericPE, str]:
        """The PE and port a connection reaches: a composite's port is the
        port of the inner PE it maps to."""
        while isinstance(node, WorkflowGraph):
            mappings = node.outputmappings if kind == "out" else node.inputmappings
            assert mappings is not None
            node, port = mappings[port]
        return node, port

    def pe(self, pe: GenericPE, indent: str) -> None:
        node_id = f"pe{len(self.node_ids)}"
        self.node_ids[id(pe)] = node_id
        view = self.topology.node(pe.id)
        inputs = "|".join(f"<in_{_port_id(p)}> {_record_escape(p)}" for p in pe.inputconnections)
        outputs = "|".join(f"<out_{_port_id(p)}> {_record_escape(p)}" for p in pe.outputconnections)
        middle = _record_escape(pe.id) + "\\n" + _record_escape(view.instances_text)
        label = "{ {" + inputs + "} | " + middle + " | {" + outputs + "} }"
        self.lines.append(f'{indent}{node_id} [label="{label}"];')

    def graph(self, sub: WorkflowGraph, indent: str) -> None:
        for node in sub.nodes:
            if isinstance(node, GenericPE):
                self.pe(node, indent)
                continue
            self.clusters += 1
            self.lines.append(f"{indent}subgraph cluster_{self.clusters} {{")
            self.lines.append(f"{indent}  label={_quote(type(node).__name__)};")
            self.lines.append(f"{indent}  style=rounded;")
            self.graph(node, indent + "  ")
            self.lines.append(f"{indent}}}")
        for connection in sub.connections:
            src, src_port = self.endpoint(connection.src, connection.src_port, "out")
            dst, dst_port = self.endpoint(connection.dst, connection.dst_port, "in")
            grouping = self.topology.grouping(src.id, src_port, dst.id, dst_port)
            self.edges.append(
                f"{self.node_ids[id(src)]}:out_{_port_id(src_port)} -> "
                f"{self.node_ids[id(dst)]}:in_{_port_id(dst_port)} [label={_quote(grouping)}];"
            )


def labelled_dot(graph: WorkflowGraph, topology: Topology) -> str:
    """Dot source: PEs as records with their ports and instance count,
    composites as clusters, connections labelled with their grouping."""
    writer = _Writer(topology)
    writer.graph(graph, "  ")
    lines = [
        "digraph workflow {",
        "  rankdir=LR;",
        "  node [shape=Mrecord, style=filled, fillcolor=white, fontname=Helvetica];",
        "  edge [fontname=Helvetica, fontsize=10, fontcolor=gray30];",
        *writer.lines,
        *(f"  {edge}" for edge in writer.edges),
        "}",
    ]
    return "\n".join(lines) + "\n"
