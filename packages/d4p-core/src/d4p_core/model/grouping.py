"""Groupings: how items written on a connection are spread over the instances of
the receiving PE.

The set is closed: :class:`Shuffle` (default, round robin), :class:`GroupBy`
(stable hash of a key), :class:`Broadcast` (every instance) and :class:`Global`
(instance 0). dispel4py spelled them as a list of keys, ``'all'`` and
``'global'``; :func:`grouping_from_spec` maps those spellings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._stable_hash import stable_hash

__all__ = ["Broadcast", "Global", "GroupBy", "Grouping", "Shuffle", "grouping_from_spec"]


@dataclass(frozen=True)
class Shuffle:
    """Round robin over the destination instances (per sending instance)."""

    def __str__(self) -> str:
        return "shuffle"


@dataclass(frozen=True)
class GroupBy:
    """Items with the same key go to the same instance, in every process.

    ``keys`` are indices into a list/tuple item or keys of a dict item.
    """

    keys: tuple[Any, ...]

    def __init__(self, keys: Sequence[Any] | Any) -> None:
        key_tuple = tuple(keys) if isinstance(keys, (list, tuple)) else (keys,)
        if not key_tuple:
            raise ValueError("GroupBy needs at least one key")
        object.__setattr__(self, "keys", key_tuple)

    def key_of(self, item: Any) -> tuple[Any, ...]:
        """The grouping key of one item."""
        try:
            return tuple(item[k] for k in self.keys)
        except (KeyError, IndexError, TypeError) as exc:
            raise ValueError(
                f"cannot group item {item!r:.200} by {list(self.keys)}: {exc}"
            ) from exc

    def instance_for(self, item: Any, instances: int) -> int:
        """The destination instance of ``item`` among ``instances``."""
        return stable_hash(self.key_of(item)) % instances

    def __str__(self) -> str:
        return f"group_by{list(self.keys)}"


@dataclass(frozen=True)
class Broadcast:
    """Every instance of the destination receives its own copy ('all')."""

    def __str__(self) -> str:
        return "broadcast"


@dataclass(frozen=True)
class Global:
    """Every item goes to instance 0 of the destination ('global')."""

    def __str__(self) -> str:
        return "global"


Grouping = Shuffle | GroupBy | Broadcast | Global

_GROUPINGS = (Shuffle, GroupBy, Broadcast, Global)


def grouping_from_spec(spec: Any) -> Grouping:
    """Turn a dispel4py grouping spelling (or a typed grouping) into a Grouping.

    ``None``/``''``/``'shuffle'``/``'none'`` → Shuffle, a list/tuple → GroupBy,
    ``'all'`` → Broadcast, ``'global'`` → Global.
    """
    if isinstance(spec, _GROUPINGS):
        return spec
    if spec is None or spec == "" or spec == [] or spec == ():
        return Shuffle()
    if isinstance(spec, str):
        lowered = spec.lower()
        if lowered == "all":
            return Broadcast()
        if lowered == "global":
            return Global()
        if lowered in ("shuffle", "none"):
            return Shuffle()
        raise ValueError(
            f"unknown grouping {spec!r}: use a list of keys, 'all', 'global' or 'shuffle'"
        )
    if isinstance(spec, (list, tuple)):
        return GroupBy(spec)
    raise ValueError(f"unknown grouping {spec!r}: use a list of keys, 'all', 'global' or 'shuffle'")
