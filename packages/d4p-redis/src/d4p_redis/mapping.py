"""The four Redis mappings: core plans, places and assembles the result;
these classes run the work over Redis streams."""

from __future__ import annotations

from typing import ClassVar

from d4p_core.backend import (
    DynamicMappingBase,
    DynamicRun,
    FixedPlacementMapping,
    PlacedRun,
    RunOutcome,
)

from ._driver import open_run
from ._dynamic_run import run_dynamic
from ._options import RedisOptions
from ._session import RunSpec

# Options of the shared RedisOptions that one family does not use.
DYNAMIC_ONLY = frozenset(
    {
        "workers",
        "wait_workers",
        "claim_idle",
        "on_error",
        "max_attempts",
        "max_deaths",
        "min_workers",
        "max_workers",
    }
)
FIXED_ONLY = frozenset({"fuse"})

__all__ = [
    "DynAutoRedisMapping",
    "DynRedisMapping",
    "HybridRedisMapping",
    "RedisMapping",
]


class RedisMapping(FixedPlacementMapping[RedisOptions]):
    """Fixed assignment (as ``multi``): one Redis stream per PE instance,
    read by the worker process core's placement puts it on."""

    name: ClassVar[str] = "redis"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "fixed PE instances on worker processes, one Redis stream each"
    options_class: ClassVar[type[RedisOptions]] = RedisOptions
    hidden_options: ClassVar[frozenset[str]] = DYNAMIC_ONLY

    def execute(self, placed: PlacedRun, options: RedisOptions) -> RunOutcome:
        spec = RunSpec.create(
            self.name, placed.flat, placed.plan, placed.provided, options, blocks=placed.partitions
        )
        workers = len(placed.partitions)
        with open_run(options, lambda i: f"worker {i} ({placed.describe_partition(i)})") as driver:
            driver.lease.create([driver.keys.instance(*address) for address in placed.owner])
            driver.publish(spec, placed.owner)
            for index in range(workers):
                driver.start("fixed", index)
            sink = driver.sink
            while len(sink.finished) < workers:
                driver.receive()
                lost = driver.lost(sink.finished)
                if lost is not None:
                    raise sink.lost(*lost)
            return RunOutcome(
                sink.outputs, sink.metrics, driver.extra(), process_seconds=driver.process_seconds()
            )


class DynRedisMapping(DynamicMappingBase[RedisOptions]):
    """Workers take tasks from one shared Redis stream; stateless PEs only."""

    name: ClassVar[str] = "dyn_redis"
    description: ClassVar[str] = "workers (local or remote) sharing one Redis task stream"
    options_class: ClassVar[type[RedisOptions]] = RedisOptions
    hidden_options: ClassVar[frozenset[str]] = FIXED_ONLY

    def execute(self, work: DynamicRun, options: RedisOptions) -> RunOutcome:
        return run_dynamic(self.name, work, options)


class DynAutoRedisMapping(DynRedisMapping):
    """``dyn_redis`` with core's autoscaling policy choosing the active workers."""

    name: ClassVar[str] = "dyn_auto_redis"
    description: ClassVar[str] = "dyn_redis with autoscaling between --min/--max-workers"
    autoscaled: ClassVar[bool] = True


class HybridRedisMapping(DynRedisMapping):
    """Stateful PEs pinned to dedicated instances with their own streams;
    stateless work on the shared stream."""

    name: ClassVar[str] = "hybrid_redis"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "stateful PEs pinned to their own streams, the rest shared"
    pinned: ClassVar[bool] = True
