"""Moved to :mod:`d4p_core.model.composite`; this import path is kept for 0.1.x."""

from .model.composite import *  # noqa: F403
from .model.composite import __all__ as __all__
