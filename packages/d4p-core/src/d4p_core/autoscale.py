"""Moved to :mod:`d4p_core.mappings.dynamic.autoscale`; this import path is kept for 0.1.x."""

from .mappings.dynamic.autoscale import *  # noqa: F403
from .mappings.dynamic.autoscale import __all__ as __all__
