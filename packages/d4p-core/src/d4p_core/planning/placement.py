"""Placing the instances of a plan on a number of processes.

Routing is by instance address, so a process may host any set of instances
and groupings stay correct wherever instances live. Placement only decides
how many transport hops there are and must keep the *process* graph acyclic,
so that blocking (back-pressured) sends can never wait on each other in a
circle.

Units are fused chains (``plan.partitions``), one unit per instance index;
units are ordered by the topological position of their head and packed into
contiguous blocks, which keeps every edge pointing forward.
"""

from __future__ import annotations

from typing import Literal

from ..errors import GraphError
from ..model.types import Address
from .plan import Plan

__all__ = ["Fuse", "place"]

Fuse = Literal["auto", "always", "never"]


def _instances(plan: Plan) -> list[tuple[Address, ...]]:
    return [((pe_id, i),) for pe_id in plan.pe_ids for i in range(plan.instances[pe_id])]


def _chain_units(plan: Plan) -> list[tuple[Address, ...]]:
    position = {pe_id: index for index, pe_id in enumerate(plan.pe_ids)}
    units: list[tuple[int, int, tuple[Address, ...]]] = []
    for chain in plan.partitions:
        width = max(plan.instances[pe_id] for pe_id in chain)
        head = min(position[pe_id] for pe_id in chain)
        for index in range(width):
            members = tuple((pe_id, index) for pe_id in chain if index < plan.instances[pe_id])
            units.append((head, index, members))
    units.sort(key=lambda unit: (unit[0], unit[1]))
    return [members for _, _, members in units]


def _split_to_fill(
    plan: Plan, units: list[tuple[Address, ...]], processes: int
) -> list[tuple[Address, ...]]:
    """Split the longest fused chains while processes would stay idle.

    A chain's inner PEs have a single upstream and downstream, so ordering
    the halves by the position of their first PE keeps every edge forward.
    """
    position = {pe_id: index for index, pe_id in enumerate(plan.pe_ids)}
    units = list(units)
    while len(units) < processes:
        longest = max(range(len(units)), key=lambda i: len(units[i]))
        unit = units[longest]
        if len(unit) < 2:
            break
        half = len(unit) // 2
        units[longest : longest + 1] = [unit[:half], unit[half:]]
    units.sort(key=lambda unit: (position[unit[0][0]], unit[0][1]))
    return units


def place(plan: Plan, processes: int, fuse: Fuse = "auto") -> tuple[tuple[Address, ...], ...]:
    """Assign every instance of ``plan`` to one of at most ``processes`` processes.

    ``fuse="auto"`` fuses chains only when there are more instances than
    processes; ``"always"`` fuses them anyway (fewer hops); ``"never"``
    keeps one instance per process and fails if they do not fit.
    """
    if processes < 1:
        raise GraphError(f"the number of processes must be at least 1, not {processes}")
    total = plan.total_instances
    if fuse == "never" or (fuse == "auto" and total <= processes):
        units = _instances(plan)
        if len(units) > processes:
            raise GraphError(
                f"the plan has {total} instances but only {processes} processes were "
                "given and fusion is disabled"
            )
    else:
        units = _split_to_fill(plan, _chain_units(plan), processes)
    count = min(processes, len(units))
    blocks = [
        tuple(
            address
            for unit in units[b * len(units) // count : (b + 1) * len(units) // count]
            for address in unit
        )
        for b in range(count)
    ]
    _check_forward_only(plan, blocks)
    return tuple(blocks)


def _check_forward_only(plan: Plan, blocks: list[tuple[Address, ...]]) -> None:
    """Every stream must go from a block to the same or a later block."""
    owner: dict[str, list[int]] = {pe_id: [] for pe_id in plan.pe_ids}
    for block_index, block in enumerate(blocks):
        for pe_id, _ in block:
            owner[pe_id].append(block_index)
    for pe_id in plan.pe_ids:
        for downstream in plan.downstream[pe_id]:
            if max(owner[pe_id]) > min(owner[downstream]):
                raise GraphError(
                    f"the partitions place {downstream!r} before its upstream {pe_id!r}; "
                    "graph.partitions must follow the direction of the streams"
                )
