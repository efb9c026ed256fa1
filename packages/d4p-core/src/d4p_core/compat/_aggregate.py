"""Whole-stream aggregates of ``dispel4py.new.aggregate``: count, sum, min,
max and a running reduction, written for d4p.

The names, constructor signatures, ports (``input``/``output``) and the
values written (a list with one entry per aggregated index) are dispel4py's,
so workflows import them unchanged. What differs is what dispel4py got wrong:

* An aggregate used on its own is declared ``stateful``: it runs as one
  instance (unless its ``numprocesses`` asks for more), so it writes one
  total instead of one partial result per process, and the dynamic mappings
  refuse it instead of splitting it silently. In a ``parallel_*`` composite
  (:mod:`._parallel`) its partial stage is stateless and may run anywhere.
* ``value[j]`` aggregates ``item[indexes[j]]``; dispel4py indexed ``value``
  with the index itself, so ``SumPE([2])`` failed.
* ``MaxPE`` starts empty instead of at 0 (the max of negative numbers was
  0); the min or max of an empty stream writes nothing.
* What is written is a copy: a PE that keeps updating its list never changes
  a value it wrote before (dispel4py wrote the same list object each time).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model.pe import GenericPE

__all__ = [
    "AggregatePE",
    "ContinuousReducePE",
    "CountPE",
    "MaxPE",
    "MinPE",
    "SumPE",
    "field",
    "make_partial",
]


def field(pe: GenericPE, item: Any, index: Any) -> Any:
    """``item[index]``, or an error naming the PE, the index and the item."""
    try:
        return item[index]
    except (TypeError, LookupError) as exc:
        raise ValueError(
            f"{type(pe).__name__} {pe.id!r} aggregates element {index!r} of each item, "
            f"but the item {item!r} has none ({exc}); write lists, tuples or dicts "
            f"(e.g. [value] for index 0)"
        ) from exc


def _indexes(indexes: Sequence[Any] | None) -> list[Any]:
    return [0] if indexes is None else list(indexes)


class AggregatePE(GenericPE):
    """Aggregates the items of ``input`` and writes the result on ``output``
    once, when the stream ends.

    Subclasses implement ``_process(inputs)``, receiving the input dict
    ``{"input": item}`` as in dispel4py, and update ``self.value``.
    ``items_seen`` counts the items received. ``result_when_empty`` says
    whether an empty stream still has a result (a count or sum of nothing is
    0; a min or max of nothing is not written).
    """

    INPUT_NAME = "input"
    OUTPUT_NAME = "output"
    stateful: Any = True
    result_when_empty = True

    def __init__(self, indexes: Sequence[Any] | None = None) -> None:
        GenericPE.__init__(self)
        self._add_input(self.INPUT_NAME)
        self._add_output(self.OUTPUT_NAME)
        self.indexes = _indexes(indexes)
        self.value: list[Any] = [0 for _ in self.indexes]
        self.items_seen = 0
        # Set by make_partial: one of several instances whose results are
        # combined downstream, so an instance that saw nothing stays quiet.
        self.partial = False

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        self.items_seen += 1
        result: dict[str, Any] | None = self._process(inputs)
        return result

    def _postprocess(self) -> None:
        if not self.items_seen and (self.partial or not self.result_when_empty):
            return
        self.write(self.OUTPUT_NAME, list(self.value))


def make_partial(pe: GenericPE) -> None:
    """Make an :class:`AggregatePE` the partial stage of a composite: not
    stateful (its instances, or a dynamic mapping's copies, may split the
    stream: that is the point, the global stage combines them), silent when
    idle, and exempt from the engine's watch for split state
    (``check_state``)."""
    if isinstance(pe, AggregatePE):
        pe.partial = True
        pe.stateful = False
        pe.check_state = False


class CountPE(AggregatePE):
    """Writes ``[number of items]``."""

    def __init__(self) -> None:
        AggregatePE.__init__(self, [0])

    def _process(self, inputs: Any) -> None:
        self.value[0] += 1


class SumPE(AggregatePE):
    """Writes the sum of each aggregated index: ``[sum of item[i] for i in indexes]``."""

    def _process(self, inputs: Any) -> None:
        item = inputs[self.INPUT_NAME]
        value = self.value
        for j, index in enumerate(self.indexes):
            value[j] += field(self, item, index)


class MinPE(AggregatePE):
    """Writes the minimum of each aggregated index (nothing for an empty stream)."""

    result_when_empty = False

    def __init__(self, indexes: Sequence[Any] | None = None) -> None:
        AggregatePE.__init__(self, indexes)
        self.value = [None for _ in self.indexes]

    def _process(self, inputs: Any) -> None:
        item = inputs[self.INPUT_NAME]
        value = self.value
        for j, index in enumerate(self.indexes):
            x = field(self, item, index)
            if value[j] is None or x < value[j]:
                value[j] = x


class MaxPE(AggregatePE):
    """Writes the maximum of each aggregated index (nothing for an empty stream)."""

    result_when_empty = False

    def __init__(self, indexes: Sequence[Any] | None = None) -> None:
        AggregatePE.__init__(self, indexes)
        self.value = [None for _ in self.indexes]

    def _process(self, inputs: Any) -> None:
        item = inputs[self.INPUT_NAME]
        value = self.value
        for j, index in enumerate(self.indexes):
            x = field(self, item, index)
            if value[j] is None or x > value[j]:
                value[j] = x


class ContinuousReducePE(GenericPE):
    """A running reduction: after every item, writes ``value`` so far.

    Subclasses implement ``_process(item)`` (the item itself, not the input
    dict, as in dispel4py) and update ``self.value`` (one entry per index,
    starting at 0). Declared ``stateful``: the running value must see the
    whole stream (or, with a grouping on its input, a whole group).
    """

    INPUT_NAME = "input"
    OUTPUT_NAME = "output"
    stateful: Any = True

    def __init__(self, indexes: Sequence[Any] | None = None) -> None:
        GenericPE.__init__(self)
        self._add_input(self.INPUT_NAME)
        self._add_output(self.OUTPUT_NAME)
        self.indexes = _indexes(indexes)
        self.value: list[Any] = [0 for _ in self.indexes]

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        self._process(inputs[self.INPUT_NAME])
        self.write(self.OUTPUT_NAME, list(self.value))
        return None
