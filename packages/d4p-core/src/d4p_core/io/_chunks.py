"""What a reading stage is handed: a :class:`FileChunk`, a byte range of one
file. A range covers the lines whose **first byte** lies in it, so the
chunks of a file, side by side, cover each of its lines exactly once
whichever instance reads which chunk (the rule Hadoop's line records use)."""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ._compression import compressed

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "FileChunk",
    "as_chunk",
    "byte_splittable",
    "check_encoding",
    "split_file",
]

DEFAULT_CHUNK_BYTES = 1 << 20
"""Bytes per chunk of a big file (1 MiB): small enough that a big file is
shared by many reader instances (and, on dynamic mappings, travels in
several tasks), big enough that opening and seeking cost nothing beside it."""


@dataclass(frozen=True)
class FileChunk:
    """The lines of ``path`` whose first byte lies in ``[start, end)``
    (``end=None``: to the end of the file). ``FileChunk(path)`` is the
    whole file."""

    path: str
    start: int = 0
    end: int | None = None

    @property
    def whole(self) -> bool:
        """True if the chunk is the whole file."""
        return self.start == 0 and self.end is None


def as_chunk(value: Any) -> FileChunk:
    """A reading stage's input as a chunk: a :class:`FileChunk`, or a path
    (``str`` / ``os.PathLike``) standing for the whole file."""
    if isinstance(value, FileChunk):
        return value
    if isinstance(value, (str, os.PathLike)):
        return FileChunk(os.path.abspath(os.fspath(value)))
    raise InputError(
        f"a file reader takes a FileChunk or a file path, not {type(value).__name__}: {value!r}"
    )


def check_encoding(encoding: str, errors: str = "strict") -> str:
    """The codec's canonical name; a :class:`ValueError` naming an unknown
    encoding or error handler."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown text encoding {encoding!r}") from None
    try:
        codecs.lookup_error(errors)
    except LookupError:
        raise ValueError(
            f"unknown encoding error handler {errors!r} (use 'strict', 'replace', 'ignore'...)"
        ) from None
    return name


def byte_splittable(encoding: str) -> bool:
    """True if the byte ``0x0a`` can only be a newline in ``encoding``'s text
    (UTF-8, ASCII, Latin-1 and the other ASCII-compatible codecs), so lines
    can be found, and files split, without decoding. UTF-16/32, EBCDIC or a
    BOM-writing codec (``utf-8-sig``) are read whole, as text."""
    try:
        return "\n".encode(encoding) == b"\n" and "a\n".encode(encoding) == b"a\n"
    except (LookupError, UnicodeError):
        return False


def split_file(path: str, chunk_bytes: int | None) -> Iterator[FileChunk]:
    """The chunks of ``path``: the whole file if ``chunk_bytes`` is None, the
    file is compressed or no bigger than ``chunk_bytes``; else consecutive
    ranges of ``chunk_bytes`` (the last one open-ended)."""
    if chunk_bytes is None or compressed(path) is not None:
        yield FileChunk(path)
        return
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise InputError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    if size <= chunk_bytes:
        yield FileChunk(path)
        return
    start = 0
    while start + chunk_bytes < size:
        yield FileChunk(path, start, start + chunk_bytes)
        start += chunk_bytes
    yield FileChunk(path, start, None)
