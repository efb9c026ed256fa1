"""Options shared by the four Redis mappings, and their command-line form."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from d4p_core import AutoscalePolicy, D4pError
from d4p_core.backend import Fuse

from ._codec import ENV_AUTH_KEY
from ._server import ENV_URL

__all__ = ["RedisOptions", "add_redis_arguments", "options_from_args"]


@dataclass(frozen=True)
class RedisOptions:
    """Options of ``redis``, ``dyn_redis``, ``dyn_auto_redis``, ``hybrid_redis``.

    ``redis_url``: the server (default ``$D4P_REDIS_URL``, else a private
    ``redis-server``); ``processes``: worker processes; ``workers``: local
    worker processes of the dynamic mappings (default ``processes``; 0 runs
    with external workers only); ``run_id``: the key namespace (default:
    random); ``auth_key``: sign every message (default
    ``$D4P_REDIS_AUTH_KEY``); ``serializer``: ``pickle`` or ``json``;
    ``batch_size``: items per task (dynamic, default 64) or message (fixed,
    default 256); ``read_count``: entries a worker
    reads and acknowledges together (1: per task); ``backlog``: tasks in
    flight (dynamic) or batches per stream (fixed) before producers wait;
    ``claim_idle``: seconds before another worker claims a silent worker's
    tasks; ``on_error``: ``fail`` (stop at the first failed task) or
    ``continue`` (dead-letter it, report it in ``RunResult.errors``);
    ``max_attempts``: tries of a failing task before it is dead-lettered.
    """

    processes: int | None = None
    redis_url: str | None = None
    workers: int | None = None
    run_id: str | None = None
    auth_key: str | None = field(default=None, repr=False)
    serializer: str = "pickle"
    start_method: str | None = None
    batch_size: int | None = None
    read_count: int = 8
    spill_above: int = 256
    backlog: int = 256
    claim_idle: float = 30.0
    on_error: str = "fail"
    max_attempts: int = 1
    min_workers: int | None = None
    max_workers: int | None = None
    fuse: Fuse = "auto"
    policy: AutoscalePolicy | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("processes", "min_workers", "max_workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise D4pError(f"{name} must be at least 1, not {value}")
        if self.workers is not None and self.workers < 0:
            raise D4pError(f"workers must be 0 or more, not {self.workers}")
        for name in ("batch_size", "read_count", "spill_above", "backlog", "max_attempts"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise D4pError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.claim_idle <= 0:
            raise D4pError(f"claim_idle must be positive, not {self.claim_idle}")
        if self.serializer not in ("pickle", "json"):
            raise D4pError(f"serializer must be pickle or json, not {self.serializer!r}")
        if self.on_error not in ("fail", "continue"):
            raise D4pError(f"on_error must be fail or continue, not {self.on_error!r}")
        if self.start_method not in (None, "fork", "spawn", "forkserver"):
            raise D4pError(f"unknown start method {self.start_method!r}")
        if self.fuse not in ("auto", "always", "never"):
            raise D4pError(f"fuse must be auto, always or never, not {self.fuse!r}")
        if self.run_id is not None and not self.run_id.replace("-", "").replace("_", "").isalnum():
            raise D4pError(f"run id {self.run_id!r}: use letters, digits, - and _ only")


def add_redis_arguments(parser: argparse.ArgumentParser, *, dynamic: bool) -> None:
    add = parser.add_argument
    add("--redis-url", help=f"Redis server URL (default ${ENV_URL}, else a private redis-server)")
    add("--run-id", help="namespace of the run's keys (default: random)")
    add("--auth-key", help=f"sign every message with this key (default ${ENV_AUTH_KEY})")
    add("--serializer", choices=("pickle", "json"), default="pickle", help="payload format")
    add("--start-method", choices=("fork", "spawn", "forkserver"), help="for local workers")
    add(
        "--batch-size",
        type=int,
        help=f"items per {'task (64)' if dynamic else 'message (256)'}",
    )
    add("--backlog", type=int, default=256, help="tasks/batches queued before producers wait")
    if dynamic:
        add("--workers", type=int, help="local worker processes (default -n; 0: external only)")
        add("--read-count", type=int, default=8, help="tasks read and acknowledged together (8)")
        add(
            "--claim-idle",
            type=float,
            default=30.0,
            help="seconds before a silent worker's tasks are claimed by others (30)",
        )
        add("--on-error", choices=("fail", "continue"), default="fail", help="on a failing task")
        add("--max-attempts", type=int, default=1, help="tries before a task is dead-lettered")
    else:
        add("--fuse", choices=("auto", "always", "never"), default="auto", help="fuse chains")


def options_from_args(args: argparse.Namespace, **extra: object) -> RedisOptions:
    values: dict[str, Any] = {
        name: getattr(args, name)
        for name in (
            "redis_url",
            "run_id",
            "auth_key",
            "serializer",
            "start_method",
            "batch_size",
            "backlog",
            "workers",
            "read_count",
            "claim_idle",
            "on_error",
            "max_attempts",
            "fuse",
            "min_workers",
            "max_workers",
        )
        if getattr(args, name, None) is not None
    }
    values.update(extra)
    return RedisOptions(processes=getattr(args, "processes", None), **values)
