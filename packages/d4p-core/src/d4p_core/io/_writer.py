"""The part every file writer shares: where it writes, when the file is
opened and closed, and what it reports."""

from __future__ import annotations

import io
import os
from typing import IO, Any, BinaryIO

from ..model.block import BlockPE
from ..model.pe import GROUPING
from ._chunks import check_encoding
from ._compression import wrap_write
from ._parts import PART, claim, claim_part

__all__ = ["FileWriter", "OpenFile"]


class OpenFile:
    """A file being written: the text stream over the (compressing) binary
    stream over the claimed, locked file. Closing flushes all three in order
    and releases the lock."""

    def __init__(self, path: str, raw: BinaryIO, encoding: str, newline: str | None) -> None:
        self.path = path
        self._raw = raw
        try:
            binary, self._compressing = wrap_write(raw, path)
            self.text = io.TextIOWrapper(
                binary,
                encoding=encoding,
                newline=newline,
                write_through=False,
            )
        except BaseException:
            raw.close()
            raise

    def close(self) -> None:
        try:
            self.text.close()
        finally:
            if self._compressing:
                self._raw.close()


class FileWriter(BlockPE[Any, dict[str, Any]]):
    """A sink that writes what arrives on ``input`` to files; subclasses
    say how (:meth:`_begin` once per file, :meth:`_write_values` per block).

    **Several copies write several files.** By default (``one_file=False``)
    each copy of the writer that receives items writes its own *part*:
    ``counts.jsonl`` becomes ``counts-0.jsonl``, ``counts-1.jsonl``...
    (``{part}`` in the path places the number). This runs on every mapping,
    dynamic ones included. A part left over from an earlier run is
    overwritten when a copy of this run claims its number; parts with
    higher numbers than this run needs are left alone (write to a fresh
    directory, or read back only the paths the run reports).

    With ``one_file=True`` the writer's input is ``global``: one instance
    writes exactly ``path`` (created, possibly empty, even if nothing
    arrives). Dynamic mappings refuse a graph with such a PE, as any
    stateful PE; ``hybrid_*`` and the fixed mappings run it.

    When a copy ends (postprocess) it closes its file and writes
    ``{"path": ..., "items": n}`` on ``output``: left unconnected, the run's
    result lists every file written and how many items each holds. A path
    ending in ``.gz``, ``.bz2`` or ``.xz`` is compressed; missing
    directories are made.
    """

    check_state = False  # every copy writes its own file by design
    newline: str | None = None
    """How the text stream translates ``\\n`` (``""``: not at all, for csv)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        one_file: bool = False,
        encoding: str = "utf-8",
        numprocesses: int = 1,
    ) -> None:
        super().__init__(numprocesses)
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        if one_file and PART in self.path:
            raise ValueError(f"one_file=True writes exactly {self.path!r}: remove {PART}")
        self.one_file = one_file
        if one_file:
            self.inputconnections[self.INPUT_NAME][GROUPING] = "global"
        check_encoding(encoding)
        self.encoding = encoding
        self._file: OpenFile | None = None
        self._items = 0

    # -- lifecycle ------------------------------------------------------------
    def _preprocess(self) -> None:
        self._file = None
        self._items = 0
        if self.one_file:
            self._open()

    def process_block(self, values: list[Any]) -> None:
        if self._file is None:
            self._open()
        assert self._file is not None
        try:
            self._write_values(self._file.text, values)
        except BaseException:
            # The run fails: release the file now rather than when the copy
            # is collected (postprocess will not run).
            opened, self._file = self._file, None
            opened.close()
            raise
        self._items += len(values)
        return None

    def _postprocess(self) -> None:
        if self._file is None:
            return
        opened, self._file = self._file, None
        opened.close()
        self.write(self.OUTPUT_NAME, {"path": opened.path, "items": self._items})

    def _open(self) -> None:
        if self.one_file:
            path, raw = self.path, claim(self.path)
            if raw is None:
                raise RuntimeError(
                    f"{self.path!r} is being written by another writer (another run?)"
                )
        else:
            path, raw = claim_part(self.path, self.instance)
        self._file = OpenFile(path, raw, self.encoding, self.newline)
        self._begin(self._file.text)

    # -- what a format defines ----------------------------------------------
    def _begin(self, stream: IO[str]) -> None:
        """Called once a file is open (before any item)."""

    def _write_values(self, stream: IO[str], values: list[Any]) -> None:
        """Write one block of items."""
        raise NotImplementedError
