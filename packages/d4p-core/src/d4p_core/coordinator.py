"""Moved to :mod:`d4p_core.mappings.dynamic.coordinator`; this import path is kept for 0.1.x."""

from .mappings.dynamic.coordinator import *  # noqa: F403
from .mappings.dynamic.coordinator import __all__ as __all__
