"""The names of a run's keys: every key starts with ``d4p:{run_id}:``."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import redis

__all__ = ["GROUP", "RunKeys", "delete_run", "new_run_id", "run_ids"]

GROUP = "d4p"  # the consumer group of every stream a run reads
PATTERN = "d4p:{*}:*"  # every key of every run


def new_run_id() -> str:
    return secrets.token_hex(6)


class RunKeys:
    """Key names of one run."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.prefix = f"d4p:{{{run_id}}}:"
        p = self.prefix
        self.lease = p + "lease"  # the lease in ms; claims the run id, renewed by the driver
        self.spec = p + "spec"  # the pickled run description
        self.tasks = p + "tasks"  # shared task stream
        self.in_flight = p + "inflight"
        self.completed = p + "completed"
        self.task_time = p + "tasktime"  # hash: s, c = seconds, CPU-seconds of tasks
        self.control = p + "control"  # reports to the driver
        self.members = p + "members"  # worker slots handed out
        self.closing = p + "closing"  # set when no worker may join any more
        self.dead = p + "dead"  # dead-letter stream
        self.command_prefix = p + "cmd:"

    def commands(self, slot: int) -> str:
        return f"{self.command_prefix}{slot}"

    def instance(self, pe_id: str, index: int) -> str:
        """The stream of a fixed or pinned PE instance."""
        return f"{self.prefix}in:{pe_id}:{index}"

    def heartbeat(self, slot: int) -> str:
        return f"{self.prefix}alive:{slot}"

    def leased(self, instances: Iterable[tuple[str, int]]) -> list[str]:
        """Every key whose lifetime the driver's lease renews, ``spec`` and
        ``members`` first (the renewal step reads them), besides the
        ``commands(slot)`` streams of the slots handed out; heartbeats carry
        their own shorter lifetime."""
        fixed = [self.spec, self.members, self.lease, self.tasks, self.in_flight]
        fixed += [self.completed, self.task_time, self.control, self.closing, self.dead]
        return fixed + [self.instance(pe, index) for pe, index in instances]


def run_keys(client: redis.Redis, run_id: str) -> list[bytes]:
    """Every key of a run that exists now."""
    return list(client.scan_iter(match=RunKeys(run_id).prefix + "*", count=1000))


def run_ids(client: redis.Redis) -> dict[str, int]:
    """Every run with keys on this server, and how many keys each has."""
    runs: dict[str, int] = {}
    for key in client.scan_iter(match=PATTERN, count=1000):
        name = key.decode(errors="replace")
        run_id = name[len("d4p:{") : name.index("}:", len("d4p:{"))]
        runs[run_id] = runs.get(run_id, 0) + 1
    return runs


def delete_run(client: redis.Redis, run_id: str) -> int:
    """Delete every key of a run; returns how many there were."""
    keys: Iterable[bytes] = run_keys(client, run_id)
    batch: list[bytes] = []
    deleted = 0
    for key in keys:
        batch.append(key)
        if len(batch) >= 500:
            deleted += int(client.unlink(*batch))
            batch = []
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted
