"""d4p-storm: the storm mapping, run on a LocalCluster or submitted to a real cluster."""

from __future__ import annotations

from .__about__ import __version__

__all__ = ["__version__"]
