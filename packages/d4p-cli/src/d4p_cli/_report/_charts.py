"""Horizontal bar charts as inline SVG: one row per label, one bar per
series, the value written after each bar."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._format import MISSING
from ._svg import attrs, svg_open, text, text_width

__all__ = ["Series", "bar_chart"]

FONT_SIZE = 12.0
BAR_HEIGHT = 14.0
BAR_GAP = 3.0
ROW_GAP = 10.0
PLOT_WIDTH = 460.0
VALUE_ROOM = 90.0
LEGEND_HEIGHT = 22.0
MARGIN = 8.0


@dataclass(frozen=True)
class Series:
    """One bar per row: a name (for the legend), values and a CSS class."""

    name: str
    values: Sequence[float | None]
    """``None`` draws no bar and writes :data:`MISSING` (e.g. no throughput for an idle PE)."""
    css_class: str


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    value_text: Callable[[float], str],
    *,
    title: str,
    plot_width: float = PLOT_WIDTH,
) -> str:
    """A chart of ``series`` for ``labels`` (bars scaled to the largest value)."""
    label_room = max((text_width(label, FONT_SIZE) for label in labels), default=0.0) + 12
    values = [v for s in series for v in s.values if v is not None]
    largest = max(values, default=0.0)
    row_height = len(series) * BAR_HEIGHT + (len(series) - 1) * BAR_GAP
    legend = LEGEND_HEIGHT if len(series) > 1 else 0.0
    width = MARGIN + label_room + plot_width + VALUE_ROOM
    height = legend + MARGIN * 2 + len(labels) * (row_height + ROW_GAP) - ROW_GAP
    parts = [svg_open(width, height, title, "chart")]
    if legend:
        x = MARGIN + label_room
        for entry in series:
            parts.append(
                f"<rect {attrs(x=x, y=MARGIN, width=12, height=12, class_=entry.css_class)}/>"
            )
            parts.append(text(x + 16, MARGIN + 10.5, entry.name, class_="chart-legend"))
            x += text_width(entry.name, FONT_SIZE) + 40
    for row, label in enumerate(labels):
        top = legend + MARGIN + row * (row_height + ROW_GAP)
        parts.append(
            text(
                MARGIN + label_room - 8,
                top + row_height / 2 + 4,
                label,
                class_="chart-label",
                text_anchor="end",
            )
        )
        for index, entry in enumerate(series):
            value = entry.values[row]
            y = top + index * (BAR_HEIGHT + BAR_GAP)
            length = 0.0 if value is None or largest <= 0 else plot_width * value / largest
            x = MARGIN + label_room
            shown = MISSING if value is None else value_text(value)
            tooltip = f"{label} — {entry.name}: {shown}"
            parts.append(f"<g><title>{html.escape(tooltip)}</title>")
            if length > 0:
                # A visible sliver for tiny non-zero values.
                shape = attrs(x=x, y=y, width=max(length, 1.5), height=BAR_HEIGHT, rx=2)
                parts.append(f'<rect {shape} class="{entry.css_class}"/>')
            parts.append(text(x + length + 6, y + BAR_HEIGHT - 3, shown, class_="chart-value"))
            parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)
