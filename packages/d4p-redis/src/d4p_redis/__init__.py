"""d4p-redis: the ``redis``, ``dyn_redis``, ``dyn_auto_redis`` and
``hybrid_redis`` mappings, with workers that can join from other machines."""

from __future__ import annotations

from .__about__ import __version__
from ._codec import ENV_AUTH_KEY, Codec, ForgedMessage
from ._join import WorkerRefused, join_run
from ._join import main as worker_main
from ._keys import RunKeys, delete_run
from ._options import RedisOptions
from ._server import ENV_URL, PrivateServer, connect, find_server_binary
from .mapping import DynAutoRedisMapping, DynRedisMapping, HybridRedisMapping, RedisMapping

__all__ = [
    "ENV_AUTH_KEY",
    "ENV_URL",
    "Codec",
    "DynAutoRedisMapping",
    "DynRedisMapping",
    "ForgedMessage",
    "HybridRedisMapping",
    "PrivateServer",
    "RedisMapping",
    "RedisOptions",
    "RunKeys",
    "WorkerRefused",
    "__version__",
    "connect",
    "delete_run",
    "find_server_binary",
    "join_run",
    "worker_main",
]
