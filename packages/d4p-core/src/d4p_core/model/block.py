"""``BlockPE``: a PE that processes a whole block of items per call.

For work that is cheaper many items at a time — numpy over an array, one
database round trip per batch, a model's batched inference — override
:meth:`BlockPE.process_block`. The engine hands it the items that arrived
together (a few to a few thousand, whatever keeps a call at a few
milliseconds), on every mapping. Groupings still apply per item: with a
group-by input each block holds only the items of this instance's keys.

A ``BlockPE`` can also be a source: run with ``inputs=N`` it is called with
blocks of empty dicts, one per iteration (``len(values)`` iterations at
once; the dicts may be one shared object: read them, do not change them),
and returns the items those iterations produce.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from .pe import GenericPE

__all__ = ["BlockPE"]

InT = TypeVar("InT")
OutT = TypeVar("OutT")


class BlockPE(GenericPE, Generic[InT, OutT]):
    """One input ``input`` and one output ``output``, processed block-wise.

    ``process_block(values)`` receives a list of the items that arrived on
    ``input`` and returns the items to emit on ``output`` (any iterable, or
    ``None`` for nothing); it may also call ``self.write``. The list is the
    PE's own: it may be kept or changed.
    """

    INPUT_NAME = "input"
    OUTPUT_NAME = "output"

    def __init__(self, numprocesses: int = 1) -> None:
        super().__init__(numprocesses)
        self._add_input(self.INPUT_NAME)
        self._add_output(self.OUTPUT_NAME)

    def process_block(self, values: list[InT]) -> Iterable[OutT] | None:
        """Process a block of items; return what to emit on ``output``."""
        raise NotImplementedError(f"{type(self).__name__} must override process_block")

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        """The per-item contract, for callers that use it: a block of one."""
        results = self.process_block([inputs[self.INPUT_NAME]])
        for result in results or ():
            self.write(self.OUTPUT_NAME, result)
        return None
