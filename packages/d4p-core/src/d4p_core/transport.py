"""Moved to :mod:`d4p_core.runtime.transport`; this import path is kept for 0.1.x."""

from .runtime.transport import *  # noqa: F403
from .runtime.transport import __all__ as __all__
