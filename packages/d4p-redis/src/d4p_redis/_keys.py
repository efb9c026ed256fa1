"""The names of a run's keys: every key starts with ``d4p:{run_id}:``."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import redis

__all__ = ["GROUP", "RunKeys", "delete_run", "new_run_id"]

GROUP = "d4p"  # the consumer group of every stream a run reads


def new_run_id() -> str:
    return secrets.token_hex(6)


class RunKeys:
    """Key names of one run."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.prefix = f"d4p:{{{run_id}}}:"
        p = self.prefix
        self.spec = p + "spec"  # the pickled run description
        self.tasks = p + "tasks"  # shared task stream
        self.in_flight = p + "inflight"
        self.completed = p + "completed"
        self.control = p + "control"  # reports to the driver
        self.members = p + "members"  # worker slots handed out
        self.closing = p + "closing"  # set when no worker may join any more
        self.dead = p + "dead"  # dead-letter stream
        self.attempts = p + "attempts"  # failed attempts per task entry

    def commands(self, slot: int) -> str:
        return f"{self.prefix}cmd:{slot}"

    def instance(self, pe_id: str, index: int) -> str:
        """The stream of a fixed or pinned PE instance."""
        return f"{self.prefix}in:{pe_id}:{index}"

    def heartbeat(self, slot: int) -> str:
        return f"{self.prefix}alive:{slot}"


def run_keys(client: redis.Redis, run_id: str) -> list[bytes]:
    """Every key of a run that exists now."""
    return list(client.scan_iter(match=RunKeys(run_id).prefix + "*", count=1000))


def delete_run(client: redis.Redis, run_id: str) -> None:
    """Delete every key of a run."""
    keys: Iterable[bytes] = run_keys(client, run_id)
    batch: list[bytes] = []
    for key in keys:
        batch.append(key)
        if len(batch) >= 500:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)
