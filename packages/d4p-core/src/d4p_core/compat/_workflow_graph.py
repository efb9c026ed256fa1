"""``dispel4py.workflow_graph``: the graph class and its drawing helpers."""

from __future__ import annotations

import os
import tempfile

from ..model.graph import WorkflowGraph

__all__ = ["WorkflowGraph", "draw", "drawDot", "write_image"]


def draw(graph: WorkflowGraph) -> str:
    """Graphviz dot source of ``graph``."""
    return graph.to_dot()


def drawDot(graph: WorkflowGraph, img_type: str = "png") -> bytes:
    """The image of ``graph`` rendered by Graphviz's ``dot``, as bytes."""
    with tempfile.TemporaryDirectory(prefix="d4p-draw-") as tmp:
        path = os.path.join(tmp, f"graph.{img_type}")
        graph.render(path, img_type)
        with open(path, "rb") as handle:
            return handle.read()


def write_image(graph: WorkflowGraph, filename: str, img_type: str = "png") -> None:
    """Render ``graph`` to the image file ``filename``."""
    graph.render(filename, img_type)
