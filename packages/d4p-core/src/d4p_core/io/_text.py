"""Reading stages of line-based formats: plain text lines, JSON lines."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import InputError
from ._chunks import FileChunk
from ._lines import LineSource
from ._stage import ChunkReader

__all__ = ["JSONLinesReader", "LineReader"]


class LineReader(ChunkReader):
    """Writes each line of the chunks it is given, as ``str`` without its
    line ending (``\\n`` or ``\\r\\n``)."""

    def _read(self, chunk: FileChunk, emit: Callable[[Any], None]) -> None:
        for line in LineSource(chunk, self.encoding, self.errors):
            emit(line)


class JSONLinesReader(ChunkReader):
    """Writes the value each line of the chunks it is given holds (JSON
    lines, one JSON document per line; blank lines are skipped). A line that
    is not JSON fails the run with the file and line named."""

    def _read(self, chunk: FileChunk, emit: Callable[[Any], None]) -> None:
        source = LineSource(chunk, self.encoding, self.errors)
        loads = json.loads
        for line in source:
            if not line or line.isspace():
                continue
            try:
                value = loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{source.where()}: not JSON ({exc.msg} at column {exc.colno})"
                ) from None
            emit(value)
