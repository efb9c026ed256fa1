"""d4p-redis: the ``redis``, ``dyn_redis``, ``dyn_auto_redis`` and
``hybrid_redis`` mappings, with workers that can join from other machines."""

from __future__ import annotations

from .__about__ import __version__
from ._codec import ENV_AUTH_KEY, Codec, ForgedMessage
from ._gc import RunState, collect, survey
from ._join import RunVanished, WorkerRefused, join_run
from ._join import main as worker_main
from ._keys import RunKeys, delete_run
from ._lease import LeaseLost
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
    "LeaseLost",
    "PrivateServer",
    "RedisMapping",
    "RedisOptions",
    "RunKeys",
    "RunState",
    "RunVanished",
    "WorkerRefused",
    "__version__",
    "collect",
    "connect",
    "delete_run",
    "find_server_binary",
    "join_run",
    "survey",
    "worker_main",
]
