"""The reading side: :class:`SplitFiles`, the source that finds the files and
cuts them into chunks, and the composites that join it to a reading stage
(:class:`ReadLines`, :class:`ReadJSONLines`, :class:`ReadCSV`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model.composite import CompositePE
from ..model.helpers import ProducerPE
from ._chunks import DEFAULT_CHUNK_BYTES, byte_splittable, split_file
from ._csvfiles import CSVReader, Dialect
from ._paths import PathSpec, absolute_paths, expand_paths
from ._stage import ChunkReader
from ._text import JSONLinesReader, LineReader

__all__ = ["ReadCSV", "ReadFiles", "ReadJSONLines", "ReadLines", "SplitFiles"]


class SplitFiles(ProducerPE):
    """A source: writes a :class:`FileChunk` on ``output`` for every chunk of
    every file ``paths`` name (files, glob patterns, directories — with
    their subdirectories when ``recursive``), each time it is called (once
    per run unless inputs say otherwise).

    A file bigger than ``chunk_bytes`` is cut into byte ranges of that size
    (``None``: never; compressed files never are); a reading stage reads the
    lines that *start* in its range, so every line is read once whatever
    reads which chunk. Paths are made absolute where the PE is built and
    expanded when it runs: a path that does not exist, a pattern matching
    no file or an empty directory fails the run at its start with an
    :class:`~d4p_core.InputError` naming it.
    """

    def __init__(
        self,
        paths: PathSpec,
        *,
        recursive: bool = False,
        chunk_bytes: int | None = DEFAULT_CHUNK_BYTES,
    ) -> None:
        super().__init__()
        if chunk_bytes is not None and (
            isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, int) or chunk_bytes < 1
        ):
            raise ValueError(f"chunk_bytes must be a positive int or None, not {chunk_bytes!r}")
        self.paths = absolute_paths(paths)
        self.recursive = recursive
        self.chunk_bytes = chunk_bytes

    def _process(self, inputs: Any) -> None:
        files = expand_paths(self.paths, recursive=self.recursive)
        for path in files:
            for chunk in split_file(path, self.chunk_bytes):
                self.write(self.OUTPUT_NAME, chunk)


class ReadFiles(CompositePE):
    """A reader: :class:`SplitFiles` (one instance, as every source) joined to
    a reading stage (``reader``; ``numprocesses`` instances on fixed
    mappings, a copy per worker on dynamic ones) that shares the chunks and
    reads them. Connect its ``output``; ``files`` and ``reader`` are the two
    PEs (their ids are those of the flattened graph).
    """

    def __init__(
        self,
        paths: PathSpec,
        reader: ChunkReader,
        *,
        recursive: bool = False,
        chunk_bytes: int | None = DEFAULT_CHUNK_BYTES,
    ) -> None:
        super().__init__()
        self.files = SplitFiles(paths, recursive=recursive, chunk_bytes=chunk_bytes)
        self.reader = reader
        self.connect(self.files, SplitFiles.OUTPUT_NAME, reader, reader.INPUT_NAME)
        self._map_output("output", reader, reader.OUTPUT_NAME)


class ReadLines(ReadFiles):
    """Reads the lines of files (``str``, without line endings).

    Big files in a byte-splittable encoding (UTF-8, Latin-1, ASCII...) are
    cut into chunks of ``chunk_bytes``, so the instances share one big file
    too; other encodings and compressed files are read whole, one file per
    instance at a time.
    """

    def __init__(
        self,
        paths: PathSpec,
        *,
        recursive: bool = False,
        encoding: str = "utf-8",
        errors: str = "strict",
        numprocesses: int = 1,
        chunk_bytes: int | None = DEFAULT_CHUNK_BYTES,
    ) -> None:
        reader = LineReader(encoding=encoding, errors=errors, numprocesses=numprocesses)
        split = chunk_bytes if byte_splittable(encoding) else None
        super().__init__(paths, reader, recursive=recursive, chunk_bytes=split)


class ReadJSONLines(ReadFiles):
    """Reads JSON lines files: writes the value of every non-blank line.
    Chunked like :class:`ReadLines`."""

    def __init__(
        self,
        paths: PathSpec,
        *,
        recursive: bool = False,
        encoding: str = "utf-8",
        errors: str = "strict",
        numprocesses: int = 1,
        chunk_bytes: int | None = DEFAULT_CHUNK_BYTES,
    ) -> None:
        reader = JSONLinesReader(encoding=encoding, errors=errors, numprocesses=numprocesses)
        split = chunk_bytes if byte_splittable(encoding) else None
        super().__init__(paths, reader, recursive=recursive, chunk_bytes=split)


class ReadCSV(ReadFiles):
    """Reads CSV files: writes every record, as a dict (``header=True``, the
    default, or ``header=[names]``) or a list (``header=False``); see
    :class:`CSVReader`. Each file is read whole by one instance."""

    def __init__(
        self,
        paths: PathSpec,
        *,
        recursive: bool = False,
        header: bool | Sequence[str] = True,
        encoding: str = "utf-8",
        errors: str = "strict",
        dialect: Dialect = "excel",
        numprocesses: int = 1,
        **fmtparams: Any,
    ) -> None:
        reader = CSVReader(
            header=header,
            encoding=encoding,
            errors=errors,
            dialect=dialect,
            numprocesses=numprocesses,
            **fmtparams,
        )
        super().__init__(paths, reader, recursive=recursive, chunk_bytes=None)
