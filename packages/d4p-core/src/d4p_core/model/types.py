"""The names of the units work is addressed to."""

from __future__ import annotations

from typing import Any

__all__ = ["Address", "Batch"]

Address = tuple[str, int]
"""``(pe_id, instance)``: one PE instance of a plan."""

Batch = list[tuple[str, Any]]
"""Items for one instance: ``[(input_name, value), ...]`` in sending order."""
