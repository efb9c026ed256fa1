"""The lines of one :class:`FileChunk`, decoded, without their line ending.

A line ends at ``\\n`` (a ``\\r`` before it is dropped too, so Windows files
read the same); a last line without one still counts. In a byte-splittable
encoding (see :func:`byte_splittable`) lines are found in the bytes and
decoded one by one, which also tells exactly where a line that does not
decode starts; in other encodings the file is read whole, as text.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from ..errors import InputError
from ._chunks import FileChunk, byte_splittable
from ._compression import open_read, read_errors

__all__ = ["LineSource"]


class LineSource:
    """Iterate over the lines of ``chunk``. While iterating, :meth:`where`
    names the line last produced ("data.txt line 12", or "data.txt, the line
    at byte 4096" when the chunk does not start the file), for messages."""

    def __init__(self, chunk: FileChunk, encoding: str = "utf-8", errors: str = "strict") -> None:
        self.chunk = chunk
        self.encoding = encoding
        self.errors = errors
        self.number = 0
        """Lines produced so far (the line number when the chunk starts the file)."""
        self.offset: int | None = None
        """Byte offset of the line last produced (None when read as text)."""

    def where(self) -> str:
        """Where the line last produced is, for a message."""
        if self.chunk.start == 0:
            return f"{self.chunk.path} line {self.number}"
        return f"{self.chunk.path}, the line at byte {self.offset}"

    def __iter__(self) -> Iterator[str]:
        failures = read_errors()
        try:
            if byte_splittable(self.encoding):
                yield from self._from_bytes()
            else:
                yield from self._from_text()
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{self._next_where()}: not valid {self.encoding} ({exc.reason}); "
                f"give the file's encoding, or errors='replace'"
            ) from None
        except InputError:
            raise
        except failures as exc:
            raise InputError(f"cannot read {self.chunk.path!r}: {exc}") from None

    def _next_where(self) -> str:
        # A decoding failure happens before the line is counted; text is
        # decoded ahead of the lines, so there only "after" is known.
        if self.offset is None:
            return f"{self.chunk.path} after line {self.number}"
        if self.chunk.start == 0:
            return f"{self.chunk.path} line {self.number + 1}"
        return f"{self.chunk.path}, the line at byte {self.offset}"

    def _from_bytes(self) -> Iterator[str]:
        chunk, encoding, errors = self.chunk, self.encoding, self.errors
        end = chunk.end
        with open_read(chunk.path) as stream:
            offset = 0
            if chunk.start > 0:
                # The line that straddles start belongs to the chunk before.
                stream.seek(chunk.start - 1)
                stream.readline()
                offset = stream.tell()
            for number, raw in enumerate(stream, 1):
                if end is not None and offset >= end:
                    break
                self.offset = offset
                offset += len(raw)
                if raw[-1:] == b"\n":
                    raw = raw[:-2] if raw[-2:-1] == b"\r" else raw[:-1]
                text = raw.decode(encoding, errors)
                self.number = number
                yield text

    def _from_text(self) -> Iterator[str]:
        chunk = self.chunk
        if not chunk.whole:
            raise InputError(
                f"{chunk.path}: a file in {self.encoding} is read whole, not from byte "
                f"{chunk.start} (give whole files: FileChunk(path) or the path)"
            )
        with (
            open_read(chunk.path) as binary,
            io.TextIOWrapper(
                binary, encoding=self.encoding, errors=self.errors, newline="\n"
            ) as stream,
        ):
            for number, line in enumerate(stream, 1):
                self.number = number
                if line[-1:] == "\n":
                    yield line[:-2] if line[-2:-1] == "\r" else line[:-1]
                else:
                    yield line
