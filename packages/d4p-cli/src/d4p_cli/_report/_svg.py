"""Small helpers to write inline SVG by hand: escaped text, element
attributes, numbers without noise, and a width estimate for text (the page
cannot measure text before it is drawn)."""

from __future__ import annotations

import html

__all__ = ["CHAR_WIDTH", "attrs", "number", "svg_open", "text", "text_width"]

CHAR_WIDTH = 0.6
"""Mean advance of a character of the sans-serif font, per pixel of font
size: generous, so labels fit their boxes in common fonts."""


def number(value: float) -> str:
    """A coordinate with at most one decimal (``12``, ``12.5``)."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


def attrs(**values: str | float) -> str:
    """``key="value"`` pairs, escaped; ``_`` in a name becomes ``-``."""
    parts = []
    for key, value in values.items():
        shown = number(value) if isinstance(value, (int, float)) else value
        parts.append(f'{key.rstrip("_").replace("_", "-")}="{html.escape(shown)}"')
    return " ".join(parts)


def text(x: float, y: float, content: str, **extra: str | float) -> str:
    """A ``<text>`` element with escaped content."""
    return f"<text {attrs(x=x, y=y, **extra)}>{html.escape(content)}</text>"


def text_width(content: str, font_size: float) -> float:
    return len(content) * font_size * CHAR_WIDTH


def svg_open(width: float, height: float, label: str, css_class: str) -> str:
    """The opening tag of a drawing that scales down with the page."""
    view_box = f"0 0 {number(width)} {number(height)}"
    shape = attrs(viewBox=view_box, width=width, height=height, role="img", class_=css_class)
    return f'<svg {shape} aria-label="{html.escape(label)}">'
