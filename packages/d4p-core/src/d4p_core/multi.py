"""Moved to :mod:`d4p_core.mappings.multi`; this import path is kept for 0.1.x."""

from .mappings.multi import *  # noqa: F403
from .mappings.multi import __all__ as __all__
