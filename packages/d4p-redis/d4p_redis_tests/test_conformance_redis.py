"""The conformance suite on the four Redis mappings (a real redis-server)."""

from __future__ import annotations

from typing import Any, ClassVar

from d4p_core.testing import MappingConformance


class TestRedis(MappingConformance):
    mapping = "redis"
    processes = 3


class TestRedisTwoProcesses(MappingConformance):
    """Fewer processes than instances: chains are fused."""

    mapping = "redis"
    processes = 2


class TestDynRedis(MappingConformance):
    mapping = "dyn_redis"
    processes = 3


class TestDynRedisPerTaskJson(MappingConformance):
    """One task per read and acknowledgement, JSON payloads, signed."""

    mapping = "dyn_redis"
    processes = 2
    options: ClassVar[dict[str, Any]] = {
        "read_count": 1,
        "batch_size": 4,
        "serializer": "json",
        "auth_key": "secret",
    }


class TestDynAutoRedis(MappingConformance):
    mapping = "dyn_auto_redis"
    processes = 3


class TestHybridRedis(MappingConformance):
    mapping = "hybrid_redis"
    processes = 3
