"""Moved to :mod:`d4p_core.model.graph`; this import path is kept for 0.1.x."""

from .model.graph import *  # noqa: F403
from .model.graph import __all__ as __all__
