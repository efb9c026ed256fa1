"""d4p-zmq: the zmq_multi mapping, on one machine or several."""

from __future__ import annotations

from .__about__ import __version__
from ._auth import AUTH_KEY_ENV, new_auth_key
from .mapping import ZmqMultiMapping, ZmqOptions

__all__ = ["AUTH_KEY_ENV", "ZmqMultiMapping", "ZmqOptions", "__version__", "new_auth_key"]
