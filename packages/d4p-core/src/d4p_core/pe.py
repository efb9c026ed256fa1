"""Moved to :mod:`d4p_core.model.pe`; this import path is kept for 0.1.x."""

from .model.pe import *  # noqa: F403
from .model.pe import __all__ as __all__
