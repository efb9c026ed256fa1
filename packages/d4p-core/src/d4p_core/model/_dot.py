"""Graphviz drawing of workflow graphs."""

from __future__ import annotations

import os
import shutil
import subprocess

from ..errors import D4pError
from .graph import Connection, Node, WorkflowGraph
from .pe import GenericPE

__all__ = ["graph_to_dot", "render_dot"]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _record_escape(text: str) -> str:
    text = text.replace("\\", "\\\\")  # the escape character itself first
    for char in '{}|<>" ':
        text = text.replace(char, "\\" + char)
    return text


def graph_to_dot(graph: WorkflowGraph) -> str:
    """Dot source: PEs as records with their ports, composites as clusters."""
    node_ids: dict[int, str] = {}
    lines = [
        "digraph workflow {",
        "  rankdir=LR;",
        "  node [shape=Mrecord, style=filled, fillcolor=white, fontname=Helvetica];",
    ]
    counter = [0]
    edges: list[str] = []

    def endpoint(node: Node, port: str, kind: str) -> str:
        # A composite's port is drawn on the inner PE it maps to.
        while isinstance(node, WorkflowGraph):
            mappings = node.outputmappings if kind == "out" else node.inputmappings
            assert mappings is not None
            node, port = mappings[port]
        return f"{node_ids[id(node)]}:{kind}_{port}"

    def draw_pe(pe: GenericPE, indent: str) -> None:
        node_id = f"pe{len(node_ids)}"
        node_ids[id(pe)] = node_id
        inputs = "|".join(f"<in_{p}> {_record_escape(p)}" for p in pe.inputconnections)
        outputs = "|".join(f"<out_{p}> {_record_escape(p)}" for p in pe.outputconnections)
        label = "{ {" + inputs + "} | " + _record_escape(pe.id) + " | {" + outputs + "} }"
        # The record parts are escaped for the record parser already; the
        # quoted string must not escape those backslashes again.
        lines.append(f'{indent}{node_id} [label="{label}"];')

    def draw_graph(sub: WorkflowGraph, indent: str) -> None:
        for node in sub.nodes:
            if isinstance(node, GenericPE):
                draw_pe(node, indent)
            else:
                counter[0] += 1
                lines.append(f"{indent}subgraph cluster_{counter[0]} {{")
                lines.append(f"{indent}  label={_quote(type(node).__name__)};")
                lines.append(f"{indent}  style=rounded;")
                draw_graph(node, indent + "  ")
                lines.append(f"{indent}}}")
        for connection in sub.connections:
            edges.append(_edge(connection, endpoint))

    draw_graph(graph, "  ")
    lines.extend(f"  {edge}" for edge in edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edge(connection: Connection, endpoint: object) -> str:
    assert callable(endpoint)
    src = endpoint(connection.src, connection.src_port, "out")
    dst = endpoint(connection.dst, connection.dst_port, "in")
    return f"{src} -> {dst};"


def render_dot(source: str, path: str, fmt: str | None = None) -> None:
    """Render dot ``source`` to ``path`` (format from ``fmt`` or the extension)."""
    image_format = fmt or os.path.splitext(path)[1].lstrip(".") or "png"
    if image_format == "dot":
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(source)
        return
    dot = shutil.which("dot")
    if dot is None:
        raise D4pError(
            "rendering needs Graphviz's 'dot' program, which is not installed "
            "(e.g. 'apt-get install graphviz' or 'brew install graphviz'); "
            "use format 'dot' to write the Graphviz source instead"
        )
    completed = subprocess.run(
        [dot, f"-T{image_format}", "-o", path],
        input=source.encode(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    if completed.returncode != 0:
        raise D4pError(
            f"dot failed to render {path}: {completed.stderr.decode(errors='replace').strip()}"
        )
