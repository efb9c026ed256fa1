"""Moved to :mod:`d4p_core.runtime.result`; this import path is kept for 0.1.x."""

from .runtime.result import *  # noqa: F403
from .runtime.result import __all__ as __all__
