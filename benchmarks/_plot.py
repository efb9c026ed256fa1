"""Workers over time as a small SVG (no plotting library needed): one step
line per run, from the autoscaling decisions a run recorded
(``RunResult.extra["autoscaling"]``: time, workers before and after)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

__all__ = ["Line", "steps", "workers_svg"]

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


@dataclass(frozen=True)
class Line:
    label: str
    points: list[tuple[float, int]]  # (seconds, workers), a step function
    end: float  # the run's makespan


def steps(initial: int, decisions: Sequence[dict[str, Any]], end: float) -> list[tuple[float, int]]:
    """The (time, workers) steps of a run that started with ``initial`` workers."""
    points = [(0.0, initial)]
    for decision in decisions:
        points.append((float(decision["time"]), int(decision["active_after"])))
    points.append((end, points[-1][1]))
    return points


def workers_svg(title: str, lines: Sequence[Line], width: int = 640, height: int = 260) -> str:
    """An SVG chart: x = seconds since the run started, y = active workers."""
    left, right, top, bottom = 48, 16, 28, 40
    span = max((line.end for line in lines), default=1.0) or 1.0
    most = max((w for line in lines for _, w in line.points), default=1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(t: float) -> float:
        return left + plot_w * t / span

    def y(w: float) -> float:
        return top + plot_h * (1 - w / (most + 0.5))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="16" font-size="13">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">seconds</text>',
        f'<text x="12" y="{top + plot_h / 2}" transform="rotate(-90 12 {top + plot_h / 2})" '
        'text-anchor="middle">workers</text>',
    ]
    for w in range(most + 1):
        out.append(
            f'<text x="{left - 6}" y="{y(w) + 4:.1f}" text-anchor="end">{w}</text>'
            f'<line x1="{left}" y1="{y(w):.1f}" x2="{left + plot_w}" y2="{y(w):.1f}" '
            'stroke="#ddd"/>'
        )
    ticks = max(1, int(span // 8) or 1)
    for t in range(0, int(span) + 1, ticks):
        out.append(f'<text x="{x(t):.1f}" y="{top + plot_h + 14}" text-anchor="middle">{t}</text>')
    for n, line in enumerate(lines):
        colour = _COLOURS[n % len(_COLOURS)]
        path: list[str] = []
        previous: int | None = None
        for when, w in line.points:
            if previous is not None:
                path.append(f"{x(when):.1f},{y(previous):.1f}")
            path.append(f"{x(when):.1f},{y(w):.1f}")
            previous = w
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(path)}"/>'
        )
        out.append(
            f'<text x="{left + plot_w - 4}" y="{top + 12 + 14 * n}" text-anchor="end" '
            f'fill="{colour}">{escape(line.label)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
