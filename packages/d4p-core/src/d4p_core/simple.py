"""Moved to :mod:`d4p_core.mappings.simple`; this import path is kept for 0.1.x."""

from .mappings.simple import *  # noqa: F403
from .mappings.simple import __all__ as __all__
