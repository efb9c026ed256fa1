"""The workflow drawn as inline SVG: PEs as boxes with their instance counts
(shaded by their share of the busy time when a run is known), connections as
arrows labelled with their grouping."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

from .._topology import EdgeView, NodeView, Topology
from ._layout import Box, layout
from ._svg import attrs, number, svg_open, text, text_width

__all__ = ["NodeStats", "graph_svg"]

TITLE_SIZE = 13.0
DETAIL_SIZE = 11.0
LABEL_SIZE = 10.5
NODE_HEIGHT = 62.0
MIN_NODE_WIDTH = 120.0
PADDING = 12.0
WIDE = 1060.0
"""Wider than the report's column: such a drawing is laid out top to bottom."""
HEAT = (244, 162, 97)
"""The fill of a PE that took all the busy time; idle PEs are white."""


@dataclass(frozen=True)
class NodeStats:
    """What a run adds to a PE's box."""

    busy_share: float
    items: int


def _heat(share: float) -> str:
    share = min(max(share, 0.0), 1.0)
    red, green, blue = (round(255 + (channel - 255) * share) for channel in HEAT)
    return f"#{red:02x}{green:02x}{blue:02x}"


def _lines(node: NodeView, stats: NodeStats | None) -> tuple[str, str, str]:
    flags = [node.instances_text]
    if node.source:
        flags.append("source")
    if node.stateful:
        flags.append("stateful")
    if node.results:
        flags.append("results")
    third = "" if stats is None else f"busy {stats.busy_share:.0%} · {stats.items:,} items"
    return node.pe_id, " · ".join(flags), third


def _node(node: NodeView, box: Box, stats: NodeStats | None) -> str:
    title, detail, run = _lines(node, stats)
    fill = "#ffffff" if stats is None else _heat(stats.busy_share)
    tooltip = f"{title}: {detail}" + (f"; {run}" if run else "")
    centre = box.x + box.width / 2
    parts = [
        f'<g class="pe" data-pe="{html.escape(node.pe_id)}"><title>{html.escape(tooltip)}</title>',
        f"<rect {attrs(x=box.x, y=box.y, width=box.width, height=box.height, rx=9, fill=fill)}/>",
        text(centre, box.y + 20, title, class_="pe-name", text_anchor="middle"),
        text(centre, box.y + 37, detail, class_="pe-detail", text_anchor="middle"),
    ]
    if run:
        parts.append(text(centre, box.y + 53, run, class_="pe-detail", text_anchor="middle"))
    parts.append("</g>")
    return "".join(parts)


def _ports(
    edges: tuple[EdgeView, ...], boxes: Mapping[str, Box], *, vertical: bool
) -> tuple[dict[int, tuple[float, float]], dict[int, tuple[float, float]]]:
    """Where each edge leaves its source and reaches its destination: spread
    over the box's side that faces the next layer, in the order of the boxes
    at the other ends."""
    starts: dict[int, tuple[float, float]] = {}
    ends: dict[int, tuple[float, float]] = {}
    for side, ours, theirs in ((starts, "src", "dst"), (ends, "dst", "src")):
        by_node: dict[str, list[int]] = {}
        for index, edge in enumerate(edges):
            by_node.setdefault(getattr(edge, ours), []).append(index)
        for pe_id, indices in by_node.items():
            box = boxes[pe_id]
            other = [boxes[getattr(edges[i], theirs)] for i in indices]
            ranked = sorted(
                range(len(indices)),
                key=lambda k: other[k].middle_x if vertical else other[k].middle_y,
            )
            for rank, k in enumerate(ranked):
                fraction = (rank + 1) / (len(indices) + 1)
                if vertical:
                    y = box.bottom if side is starts else box.y
                    side[indices[k]] = (box.x + box.width * fraction, y)
                else:
                    x = box.right if side is starts else box.x
                    side[indices[k]] = (x, box.y + box.height * fraction)
    return starts, ends


def _edge(
    edge: EdgeView,
    start: tuple[float, float],
    end: tuple[float, float],
    to: int,
    *,
    vertical: bool,
) -> str:
    (x0, y0), (x3, y3) = start, end
    if vertical:
        bend = max((y3 - y0) / 2, 20.0)
        (x1, y1), (x2, y2) = (x0, y0 + bend), (x3, y3 - bend)
    else:
        bend = max((x3 - x0) / 2, 30.0)
        (x1, y1), (x2, y2) = (x0 + bend, y0), (x3 - bend, y3)
    path = (
        f"M{number(x0)},{number(y0)} C{number(x1)},{number(y1)} "
        f"{number(x2)},{number(y2)} {number(x3)},{number(y3)}"
    )
    # The curve's midpoint (t = 1/2) carries the label.
    mid_x = (x0 + 3 * x1 + 3 * x2 + x3) / 8
    mid_y = (y0 + 3 * y1 + 3 * y2 + y3) / 8
    label_width = text_width(edge.label, LABEL_SIZE) + 8
    tooltip = (
        f"{edge.src}.{edge.src_output} → {edge.dst}.{edge.dst_input}: {edge.grouping} "
        f"over {to} instance{'' if to == 1 else 's'}"
    )
    background = attrs(
        x=mid_x - label_width / 2,
        y=mid_y - 8,
        width=label_width,
        height=15,
        rx=3,
        class_="edge-label-bg",
    )
    return (
        f'<g class="edge"><title>{html.escape(tooltip)}</title>'
        f"<path {attrs(d=path, marker_end='url(#arrow)')}/><rect {background}/>"
        + text(mid_x, mid_y + 3.5, edge.label, class_="edge-label", text_anchor="middle")
        + "</g>"
    )


def graph_svg(topology: Topology, stats: Mapping[str, NodeStats] | None = None) -> str:
    """The drawing of ``topology``; ``stats`` shades and annotates the PEs of a run."""
    sizes = {}
    for node in topology.nodes:
        title, detail, run = _lines(node, (stats or {}).get(node.pe_id))
        width = max(
            text_width(title, TITLE_SIZE),
            text_width(detail, DETAIL_SIZE),
            text_width(run, DETAIL_SIZE),
        )
        height = NODE_HEIGHT if run else NODE_HEIGHT - 16
        sizes[node.pe_id] = (max(MIN_NODE_WIDTH, width + 2 * PADDING), height)
    order = [node.pe_id for node in topology.nodes]
    pairs = [(edge.src, edge.dst) for edge in topology.edges]
    boxes, width, height = layout(order, pairs, sizes)
    vertical = False
    if width > WIDE:
        # A long chain drawn across would shrink to unreadable text: go down.
        down, down_width, down_height = layout(order, pairs, sizes, vertical=True)
        if down_width < width:
            boxes, width, height, vertical = down, down_width, down_height, True
    starts, ends = _ports(topology.edges, boxes, vertical=vertical)
    parts = [
        svg_open(width, height, "the workflow graph", "graph"),
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" class="arrow-head"/></marker></defs>',
    ]
    for index, edge in enumerate(topology.edges):
        to = topology.node(edge.dst).instances
        parts.append(_edge(edge, starts[index], ends[index], to, vertical=vertical))
    for node in topology.nodes:
        parts.append(_node(node, boxes[node.pe_id], (stats or {}).get(node.pe_id)))
    parts.append("</svg>")
    return "\n".join(parts)
