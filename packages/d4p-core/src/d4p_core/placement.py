"""Moved to :mod:`d4p_core.planning.placement`; this import path is kept for 0.1.x."""

from .planning.placement import *  # noqa: F403
from .planning.placement import __all__ as __all__
