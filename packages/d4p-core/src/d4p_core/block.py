"""Moved to :mod:`d4p_core.model.block`; this import path is kept for 0.1.x."""

from .model.block import *  # noqa: F403
from .model.block import __all__ as __all__
