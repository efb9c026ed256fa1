"""What every reading stage shares: its encoding settings, the chunk it is
handed, and a fast way to write many items."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ..model.helpers import IterativePE
from ..model.pe import WRITER
from ._chunks import FileChunk, as_chunk, check_encoding

__all__ = ["ChunkReader"]


class ChunkReader(IterativePE):
    """A reading stage: each :class:`FileChunk` (or file path) that arrives on
    ``input`` is read, and every item found in it is written on ``output``.
    Stateless, so any number of instances (or dynamic workers) share the
    chunks; each chunk is read by exactly one of them."""

    def __init__(
        self, *, encoding: str = "utf-8", errors: str = "strict", numprocesses: int = 1
    ) -> None:
        super().__init__()
        check_encoding(encoding, errors)
        self.encoding = encoding
        self.errors = errors
        self.numprocesses = numprocesses

    def _process(self, data: Any) -> None:
        self._read(as_chunk(data), self._emitter())

    def _read(self, chunk: FileChunk, emit: Callable[[Any], None]) -> None:
        """Write every item of ``chunk`` with ``emit``."""
        raise NotImplementedError

    def _emitter(self) -> Callable[[Any], None]:
        # The engine's writer itself: one call per item, no port lookup.
        writer = self.outputconnections.get(self.OUTPUT_NAME, {}).get(WRITER)
        if writer is None:
            return partial(self.write, self.OUTPUT_NAME)  # raises the usual error
        emit: Callable[[Any], None] = writer.write
        return emit
