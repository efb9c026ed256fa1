"""Moved to :mod:`d4p_core.runtime.progress`; this import path is kept for 0.1.x."""

from .runtime.progress import *  # noqa: F403
from .runtime.progress import __all__ as __all__
