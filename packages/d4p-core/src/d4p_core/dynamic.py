"""Moved to :mod:`d4p_core.mappings.dynamic.local`; this import path is kept for 0.1.x."""

from .mappings.dynamic.local import *  # noqa: F403
from .mappings.dynamic.local import __all__ as __all__
