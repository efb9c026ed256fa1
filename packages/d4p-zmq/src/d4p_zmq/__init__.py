"""d4p-zmq: the zmq_multi mapping, on one machine or several."""

from __future__ import annotations

from .__about__ import __version__

__all__ = ["__version__"]
