"""Moved to :mod:`d4p_core.model.grouping`; this import path is kept for 0.1.x."""

from .model.grouping import *  # noqa: F403
from .model.grouping import __all__ as __all__
