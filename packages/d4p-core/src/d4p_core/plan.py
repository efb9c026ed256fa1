"""Moved to :mod:`d4p_core.planning.plan`; this import path is kept for 0.1.x."""

from .planning.plan import *  # noqa: F403
from .planning.plan import __all__ as __all__
