"""d4p-redis: the ``redis``, ``dyn_redis``, ``dyn_auto_redis`` and
``hybrid_redis`` mappings, with workers that can join from other machines."""

from __future__ import annotations

from .__about__ import __version__

__all__ = ["__version__"]
