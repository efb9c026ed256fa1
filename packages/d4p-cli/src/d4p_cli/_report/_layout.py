"""A layered left-to-right layout of a workflow DAG, in pure Python.

The report draws its graph itself, so it looks the same whether or not
Graphviz is installed. Layers are longest paths from the sources; within a
layer, nodes are ordered by the mean position of their neighbours (a few
barycentre sweeps, enough to untangle the small graphs workflows are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Box", "layout"]

LAYER_GAP = 110.0
"""Horizontal room between layers: edge labels sit there."""
VERTICAL_LAYER_GAP = 56.0
"""Vertical room between layers: a label sits beside the edge's middle."""
NODE_GAP = 34.0
MARGIN = 16.0
SWEEPS = 4


@dataclass(frozen=True)
class Box:
    """Where one node is drawn (top-left corner and size)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def middle_y(self) -> float:
        return self.y + self.height / 2

    @property
    def middle_x(self) -> float:
        return self.x + self.width / 2

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


def _layers(order: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    depth = {node: 0 for node in order}
    position = {node: index for index, node in enumerate(order)}
    for node in order:  # ``order`` is topological: every predecessor is final
        for src, dst in edges:
            if dst == node and position[src] < position[dst]:
                depth[node] = max(depth[node], depth[src] + 1)
    layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for node in order:
        layers[depth[node]].append(node)
    return layers


def _sweep(layers: list[list[str]], neighbours: Mapping[str, list[str]], *, reverse: bool) -> None:
    indices = range(len(layers) - 2, -1, -1) if reverse else range(1, len(layers))
    for index in indices:
        fixed = layers[index + 1] if reverse else layers[index - 1]
        rank = {node: i for i, node in enumerate(fixed)}
        current = layers[index]

        def barycentre(
            node: str, current: list[str] = current, rank: dict[str, int] = rank
        ) -> float:
            ranks = [rank[other] for other in neighbours[node] if other in rank]
            return sum(ranks) / len(ranks) if ranks else float(current.index(node))

        layers[index] = sorted(current, key=barycentre)


def layout(
    order: Sequence[str],
    edges: Sequence[tuple[str, str]],
    sizes: Mapping[str, tuple[float, float]],
    *,
    vertical: bool = False,
) -> tuple[dict[str, Box], float, float]:
    """Boxes for the nodes of a DAG and the drawing's width and height.

    ``order`` is a topological order of the nodes, ``edges`` the
    ``(src, dst)`` pairs and ``sizes`` each node's ``(width, height)``.
    Layers run left to right, or top to bottom when ``vertical``.
    """
    if not order:
        return {}, 2 * MARGIN, 2 * MARGIN
    layers = _layers(order, edges)
    predecessors: dict[str, list[str]] = {node: [] for node in order}
    successors: dict[str, list[str]] = {node: [] for node in order}
    for src, dst in edges:
        predecessors[dst].append(src)
        successors[src].append(dst)
    for _ in range(SWEEPS):
        _sweep(layers, predecessors, reverse=False)
        _sweep(layers, successors, reverse=True)

    # "along" runs with the layers, "across" within one layer.
    def along(node: str) -> float:
        return sizes[node][1] if vertical else sizes[node][0]

    def across(node: str) -> float:
        return sizes[node][0] if vertical else sizes[node][1]

    layer_gap = VERTICAL_LAYER_GAP if vertical else LAYER_GAP
    node_gap = NODE_GAP * 1.5 if vertical else NODE_GAP
    spans = [sum(across(node) for node in layer) + node_gap * (len(layer) - 1) for layer in layers]
    total_span = max(spans)
    boxes: dict[str, Box] = {}
    position = MARGIN
    for layer, span in zip(layers, spans, strict=True):
        depth = max(along(node) for node in layer)
        offset = MARGIN + (total_span - span) / 2
        for node in layer:
            lead = position + (depth - along(node)) / 2
            width, height = sizes[node]
            boxes[node] = (
                Box(offset, lead, width, height) if vertical else Box(lead, offset, width, height)
            )
            offset += across(node) + node_gap
        position += depth + layer_gap
    length = position - layer_gap + MARGIN
    breadth = total_span + 2 * MARGIN
    return (boxes, breadth, length) if vertical else (boxes, length, breadth)
