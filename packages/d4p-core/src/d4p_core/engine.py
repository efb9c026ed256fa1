"""Moved to :mod:`d4p_core.runtime.engine`; this import path is kept for 0.1.x."""

from .runtime.engine import *  # noqa: F403
from .runtime.engine import __all__ as __all__
