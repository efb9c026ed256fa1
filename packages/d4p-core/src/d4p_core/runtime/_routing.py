"""Where the items an instance emits go: its routes compiled into targets,
and how a block is split among a destination's instances."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..model.grouping import Broadcast, Global, GroupBy
from ..planning.plan import Route
from .transport import Address

__all__ = [
    "BROADCAST",
    "GROUP_BY",
    "LOCAL",
    "REMOTE",
    "SHUFFLE",
    "Target",
    "compile_targets",
    "split",
]

# Kinds of target, precomputed per output so that routing a block is one
# tuple dispatch: a fixed instance hosted here / elsewhere, or a choice
# among the destination's instances.
LOCAL = 0
REMOTE = 1
GROUP_BY = 2
BROADCAST = 3
SHUFFLE = 4

Target = tuple[int, Any, str, int]
"""``(kind, instance | address | route, destination input, route position)``."""


def compile_targets(
    routes: tuple[Route, ...] | None, index: int, hosted: Mapping[Address, Any]
) -> list[Target] | None:
    """The targets of one output of instance ``index``; ``None`` for a result.
    ``hosted`` maps the instances of this process to their state."""
    if routes is None:
        return None
    targets: list[Target] = []
    for position, route in enumerate(routes):
        grouping, count = route.grouping, route.dst_instances
        if count == 1 or isinstance(grouping, Global):
            address = (route.dst_pe, 0)
            local = hosted.get(address)
            if local is not None:
                targets.append((LOCAL, local, route.dst_input, position))
            else:
                targets.append((REMOTE, address, route.dst_input, position))
        elif isinstance(grouping, GroupBy):
            targets.append((GROUP_BY, route, route.dst_input, position))
        elif isinstance(grouping, Broadcast):
            targets.append((BROADCAST, route, route.dst_input, position))
        elif (route.dst_pe, index) in hosted:
            # Round robin may pick any instance: the one fused with the
            # sender in this process saves a transport hop.
            targets.append((LOCAL, hosted[(route.dst_pe, index)], route.dst_input, position))
        else:
            targets.append((SHUFFLE, route, route.dst_input, position))
    return targets


def split(
    kind: int, route: Route, values: list[Any], shuffle_start: int
) -> Iterator[tuple[Address, list[Any]]]:
    """``(instance address, its part of values)`` for a GROUP_BY, BROADCAST or
    SHUFFLE target; each part is a new list. Round robin goes item by item:
    instance ``shuffle_start + k`` gets items ``k, k + count, ...``
    (``shuffle_start`` is ignored by the other kinds)."""
    count = route.dst_instances
    if kind == GROUP_BY:
        grouping = route.grouping
        assert isinstance(grouping, GroupBy)
        parts: list[list[Any]] = [[] for _ in range(count)]
        instance_for = grouping.instance_for
        for value in values:
            parts[instance_for(value, count)].append(value)
        for index, part in enumerate(parts):
            if part:
                yield (route.dst_pe, index), part
    elif kind == BROADCAST:
        for index in range(count):
            yield (route.dst_pe, index), values if index == count - 1 else values.copy()
    else:
        for k in range(min(count, len(values))):
            yield (route.dst_pe, (shuffle_start + k) % count), values[k::count]
