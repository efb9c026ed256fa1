"""Moved to :mod:`d4p_core.model.helpers`; this import path is kept for 0.1.x."""

from .model.helpers import *  # noqa: F403
from .model.helpers import __all__ as __all__
