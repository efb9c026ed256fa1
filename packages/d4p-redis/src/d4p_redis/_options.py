"""Options of the four Redis mappings, declared once: each field carries its
default and its command-line help, and core derives the ``argparse`` options
and the keyword options of :func:`d4p_core.run` from them."""

from __future__ import annotations

from dataclasses import dataclass, field

from d4p_core import AutoscalePolicy, D4pError
from d4p_core.backend import (
    Fuse,
    check_process_options,
    fuse_option,
    option,
    start_method_option,
)

from ._codec import ENV_AUTH_KEY
from ._lease import DEFAULT_LEASE, MIN_LEASE
from ._server import ENV_URL

__all__ = ["DYNAMIC_BATCH_SIZE", "FIXED_BATCH_SIZE", "RedisOptions"]

DYNAMIC_BATCH_SIZE = 64  # items per task of the dynamic mappings
FIXED_BATCH_SIZE = 256  # items per message of ``redis``
DEFAULT_WAIT_WORKERS = 60.0  # seconds a run with --workers 0 waits for a worker
SERIALIZERS = ("pickle", "json")
ON_ERROR = ("fail", "continue")


@dataclass(frozen=True)
class RedisOptions:
    """Options of ``redis``, ``dyn_redis``, ``dyn_auto_redis`` and ``hybrid_redis``.

    ``processes``: worker processes (``-n``; default: CPU count); ``workers``:
    local workers of the dynamic mappings (default ``max_workers``, else
    ``processes``; 0 runs with external workers only); ``batch_size``: items
    per task (dynamic) or message (``redis``); ``read_count``: entries a
    worker reads and acknowledges together (1: per task); ``backlog``: tasks
    in flight (dynamic) or batches per stream (``redis``) before producers
    wait; ``spill_above``: a dynamic worker's local backlog beyond which it
    hands work to others; ``claim_idle``: seconds before another worker
    claims a silent worker's tasks; ``lease``: seconds the run's keys outlive
    a driver that died (renewed every third of it while the driver lives);
    ``wait_workers``: with ``workers=0``, seconds to wait for an external
    worker (none joined, or every one died) before failing; ``on_error``:
    ``fail`` (stop at the first failed task) or ``continue`` (dead-letter it,
    report it in ``RunResult.errors``); ``max_attempts``: tries of a failing task before it
    is dead-lettered; ``max_deaths``: worker processes that may die while
    holding one task (it is handed to another each time) before the task
    counts as failing — it killed them; ``min_workers``/``max_workers``/``policy``:
    autoscaling (``dyn_auto_redis``).
    """

    processes: int | None = None
    redis_url: str | None = option(
        None, f"Redis server URL (default ${ENV_URL}, else a private redis-server)"
    )
    workers: int | None = option(
        None, "dynamic mappings: local workers (default -n; 0: external workers only)"
    )
    run_id: str | None = option(None, "namespace of the run's keys (default: random)")
    auth_key: str | None = option(
        None, f"sign every message with this key (default ${ENV_AUTH_KEY})", repr=False
    )
    serializer: str = option("pickle", "task payload format", choices=SERIALIZERS)
    start_method: str | None = start_method_option()
    batch_size: int | None = option(
        None,
        f"items per task (dynamic mappings: {DYNAMIC_BATCH_SIZE}) "
        f"or per message (redis: {FIXED_BATCH_SIZE})",
    )
    read_count: int = option(8, "entries read and acknowledged together; 1: one task at a time")
    backlog: int = option(256, "tasks in flight, or batches per stream, before producers wait")
    claim_idle: float = option(
        30.0, "dynamic mappings: seconds before a silent worker's tasks are claimed"
    )
    lease: float = option(
        DEFAULT_LEASE,
        "seconds the run's keys outlive a driver that died (the driver renews them "
        "every third of it)",
    )
    wait_workers: float = option(
        DEFAULT_WAIT_WORKERS,
        "dynamic mappings with --workers 0: seconds to wait for an external worker "
        "before the run fails",
    )
    on_error: str = option(
        "fail",
        "dynamic mappings: on a failing task, stop the run or dead-letter it and go on",
        choices=ON_ERROR,
    )
    max_attempts: int = option(
        1, "dynamic mappings: tries of a failing task before it is dead-lettered"
    )
    max_deaths: int = option(
        3,
        "dynamic mappings: workers that may die holding one task before the task counts as failing",
    )
    min_workers: int | None = option(None, "dyn_auto_redis: fewest active workers (1)")
    max_workers: int | None = option(None, "dyn_auto_redis: most active workers (-n)")
    fuse: Fuse = fuse_option()  # redis only
    spill_above: int = 256
    policy: AutoscalePolicy | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check_process_options(
            self.processes,
            self.start_method,
            fuse=self.fuse,
            read_count=self.read_count,
            backlog=self.backlog,
            spill_above=self.spill_above,
            max_attempts=self.max_attempts,
            max_deaths=self.max_deaths,
        )
        for name in ("batch_size", "min_workers", "max_workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise D4pError(f"{name} must be at least 1, not {value}")
        if self.workers is not None and self.workers < 0:
            raise D4pError(f"workers must be 0 or more, not {self.workers}")
        if self.claim_idle <= 0:
            raise D4pError(f"claim_idle must be positive, not {self.claim_idle}")
        if not self.lease >= MIN_LEASE:
            raise D4pError(f"lease must be at least {MIN_LEASE:g} second, not {self.lease}")
        if not self.wait_workers > 0:
            raise D4pError(f"wait_workers must be positive, not {self.wait_workers}")
        for name, choices in (("serializer", SERIALIZERS), ("on_error", ON_ERROR)):
            value = getattr(self, name)
            if value not in choices:
                allowed = ", ".join(choices[:-1]) + " or " + choices[-1]
                raise D4pError(f"{name} must be {allowed}, not {value!r}")
        if self.run_id is not None and not self.run_id.replace("-", "").replace("_", "").isalnum():
            raise D4pError(f"run id {self.run_id!r}: use letters, digits, - and _ only")

    def batch(self, dynamic: bool) -> int:
        """Items per task (dynamic) or per message (``redis``)."""
        if self.batch_size is not None:
            return self.batch_size
        return DYNAMIC_BATCH_SIZE if dynamic else FIXED_BATCH_SIZE
