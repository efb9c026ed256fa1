"""Numbers as people read them in a report: durations with a fitting unit,
rates and counts with SI prefixes."""

from __future__ import annotations

__all__ = ["MISSING", "count", "duration", "rate"]

MISSING = "\N{EN DASH}"
"""Shown where a value does not exist (no throughput for a PE never busy)."""


def duration(seconds: float) -> str:
    """``1.23 s``, ``45.6 ms``, ``789 µs``."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    if seconds > 0:
        return f"{seconds * 1e6:.3g} µs"
    return "0 s"


def count(value: float) -> str:
    """``950``, ``12.3k``, ``4.56M``: three significant digits."""
    for factor, suffix in ((1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "G")):
        shown = f"{value / factor:.3g}"
        if "e" not in shown and abs(float(shown)) < 1000:
            return shown + suffix
    return f"{value:.3g}"


def rate(per_second: float) -> str:
    """``12.3k/s``."""
    return f"{count(per_second)}/s"
