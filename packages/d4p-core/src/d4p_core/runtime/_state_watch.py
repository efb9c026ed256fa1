"""Noticing state a PE keeps in plain attributes where copies would split it.

A PE that changes its own attributes in ``process`` (a ``seen`` set, a
running total) keeps state. Declared (``stateful = True`` or a grouped
input), the plan gives it instances that each own a whole part of the
stream. Undeclared, a mapping that runs copies of it (dynamic workers, or
several round-robin instances) splits that state silently, and the results
depend on which copy got which item.

The watch is cheap and never materialises the PE's ``__dict__`` (on CPython
3.11 and 3.12 that makes every attribute read of the object ~2x slower for
the rest of its life): it compares the identity and, for built-in
containers, the length of the attribute values as the garbage collector
sees them, after the 1st, 2nd, 4th, 8th... chunk an instance runs. It
notices rebinding (``self.total += x``) and growing containers
(``self.seen.add(x)``); in-place changes that keep a container's length are
beyond it. Attribute names are read only once a change was seen.
"""

from __future__ import annotations

import collections
import gc
from typing import Any

from ..model.pe import GenericPE

__all__ = ["StateWatch", "split_state_message"]

_CONTAINERS = (list, dict, set, bytearray, collections.deque)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, _CONTAINERS) else -1


def _attribute_values(pe: GenericPE) -> list[tuple[Any, Any]]:
    """(key, value) of the PE's attributes: by name where the object already
    has a ``__dict__`` (CPython <= 3.10, or one materialised), else by
    position in CPython's compact attribute storage."""
    values = [ref for ref in gc.get_referents(pe) if ref is not type(pe)]
    if len(values) == 1 and type(values[0]) is dict:
        return list(values[0].items())
    return list(enumerate(values))


class StateWatch:
    """The attributes of one PE instance as ``preprocess`` left them."""

    __slots__ = ("_baseline", "_chunks", "_held", "_next_check")

    @staticmethod
    def wanted(pe: GenericPE) -> bool:
        """Whether to watch ``pe``: not when it opted out (``check_state``),
        nor when it has a postprocess step. A PE that writes in postprocess
        what it gathered is a partial aggregate (dispel4py's parallelSum):
        every copy reports its part and a PE downstream combines them."""
        cls = type(pe)
        return (
            getattr(pe, "check_state", True) is not False
            and cls.postprocess is GenericPE.postprocess
            and cls._postprocess is GenericPE._postprocess
        )

    def __init__(self, pe: GenericPE) -> None:
        attributes = _attribute_values(pe)
        # Holding the values keeps their ids from being reused by new objects.
        self._held = [value for _, value in attributes]
        self._baseline = [(key, id(value), _size(value)) for key, value in attributes]
        self._chunks = 0
        self._next_check = 1

    def changed(self, pe: GenericPE) -> bool:
        """Called after each chunk; True when a check found a change."""
        self._chunks += 1
        if self._chunks < self._next_check:
            return False
        self._next_check *= 2
        now = [(key, id(value), _size(value)) for key, value in _attribute_values(pe)]
        return now != self._baseline

    def changed_names(self, pe: GenericPE) -> tuple[str, ...]:
        """The attributes that are new or hold another object (or length)
        than ``preprocess`` left. Reads ``vars(pe)``: call it once, when
        reporting. (Compact storage keeps values in insertion order, the
        order ``vars`` lists them in.)"""
        before = {key: (ident, size) for key, ident, size in self._baseline}
        return tuple(
            sorted(
                name
                for position, (name, value) in enumerate(vars(pe).items())
                if before.get(name, before.get(position)) != (id(value), _size(value))
            )
        )


def split_state_message(names: tuple[str, ...], copies: str) -> str:
    """Why undeclared state is a problem where ``copies`` of the PE run."""
    listed = ", ".join(names) if names else "names unknown"
    return (
        f"process() changes its attributes ({listed}), but {copies}: each copy "
        f"keeps its own part of that state, so the results depend on which copy "
        f"got which item. If the state must be whole, declare it (`stateful = True` "
        f"on the PE class, or group its input by a key); if these attributes are "
        f"only caches, set `check_state = False` on the PE class"
    )
