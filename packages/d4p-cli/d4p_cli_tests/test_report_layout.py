"""The report's own graph layout and number formats: every edge points to a
later layer, no two boxes overlap, the drawing contains them all."""

from __future__ import annotations

import itertools

import pytest

from d4p_cli._report._format import MISSING, count, duration, rate
from d4p_cli._report._graph_svg import graph_svg
from d4p_cli._report._layout import Box, layout
from d4p_cli._topology import Topology
from d4p_core.backend import Plan
from d4p_core.testing.workflows import CASES, ConformanceCase


def _overlap(a: Box, b: Box) -> bool:
    return a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom


@pytest.mark.parametrize("vertical", [False, True], ids=["across", "down"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_layout_of_every_conformance_workflow(case: ConformanceCase, vertical: bool) -> None:
    topology = Topology.from_plan(Plan.build(case.build()))
    order = [node.pe_id for node in topology.nodes]
    edges = [(edge.src, edge.dst) for edge in topology.edges]
    # Sizes differ, so a layer's boxes are centred, not just stacked.
    sizes = {pe_id: (100.0 + 13 * (i % 3), 40.0 + 9 * (i % 2)) for i, pe_id in enumerate(order)}
    boxes, width, height = layout(order, edges, sizes, vertical=vertical)
    assert set(boxes) == set(order)
    for src, dst in edges:
        if vertical:
            assert boxes[src].bottom < boxes[dst].y, (src, dst)
        else:
            assert boxes[src].right < boxes[dst].x, (src, dst)
    for a, b in itertools.combinations(order, 2):
        assert not _overlap(boxes[a], boxes[b]), (a, b)
    for pe_id, box in boxes.items():
        assert (box.width, box.height) == sizes[pe_id]
        assert box.x > 0 and box.right < width and box.y > 0 and box.bottom < height


def test_barycentre_ordering_avoids_a_crossing() -> None:
    # a feeds d; b feeds c: in a's layer a comes first, so d must come before c.
    order = ["a", "b", "c", "d"]
    boxes, _, _ = layout(order, [("a", "d"), ("b", "c")], dict.fromkeys(order, (50.0, 20.0)))
    assert boxes["a"].y < boxes["b"].y
    assert boxes["d"].y < boxes["c"].y


def test_the_drawing_has_one_box_per_pe_and_one_arrow_per_connection() -> None:
    case = next(case for case in CASES if case.name == "split_merge")
    graph = case.build()
    svg = graph_svg(Topology.from_plan(Plan.build(graph)))
    assert svg.count('<g class="pe"') == len(graph.flat().pes)
    assert svg.count('marker-end="url(#arrow)"') == len(graph.flat().connections)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (950, "950"), (999.7, "1k"), (12345, "12.3k"), (999_999.9, "1M"), (4.56e6, "4.56M")],
)
def test_count(value: float, shown: str) -> None:
    assert count(value) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0 s"), (2e-5, "20 µs"), (0.0123, "12.3 ms"), (1.5, "1.50 s")],
)
def test_duration(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_rate_and_missing() -> None:
    assert rate(2_500_000) == "2.5M/s"
    assert MISSING == "\N{EN DASH}"
