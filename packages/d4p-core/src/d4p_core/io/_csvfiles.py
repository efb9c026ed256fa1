"""CSV: a reading stage (rows as dicts or lists) and a writer.

A CSV record may span lines (a quoted field can hold a newline), so a CSV
file cannot be entered in the middle: each file is one chunk, read whole by
one reader instance; a set of files is shared among the instances.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from ..errors import InputError
from ._chunks import FileChunk, byte_splittable
from ._compression import open_read, read_errors
from ._lines import LineSource
from ._stage import ChunkReader
from ._writer import FileWriter

__all__ = ["CSVReader", "WriteCSV", "check_csv_format"]

Dialect = str | type[csv.Dialect]


def check_csv_format(dialect: Dialect, fmtparams: Mapping[str, Any]) -> None:
    """A :class:`ValueError` for an unknown dialect or formatting parameter,
    raised where the workflow is built rather than in the run."""
    try:
        csv.writer(io.StringIO(), dialect, **fmtparams)
    except (csv.Error, TypeError) as exc:
        raise ValueError(f"bad CSV format ({dialect=}, {dict(fmtparams)}): {exc}") from None


class CSVReader(ChunkReader):
    """Writes each record of the CSV files it is given (whole files only).

    ``header=True``: the first record names the fields and every following
    record is written as a ``dict``; a record with another number of fields
    fails the run, naming the file and line. ``header=[names]``: the file has
    no header, records are dicts with these keys. ``header=False``: records
    are lists. Blank lines are skipped. ``dialect`` and ``fmtparams``
    (``delimiter``, ``quotechar``, ``skipinitialspace``...) are those of
    :func:`csv.reader`; values stay strings.
    """

    def __init__(
        self,
        *,
        header: bool | Sequence[str] = True,
        encoding: str = "utf-8",
        errors: str = "strict",
        dialect: Dialect = "excel",
        numprocesses: int = 1,
        **fmtparams: Any,
    ) -> None:
        super().__init__(encoding=encoding, errors=errors, numprocesses=numprocesses)
        if isinstance(header, str) or not isinstance(header, (bool, Sequence)):
            raise TypeError("header must be True, False or a list of field names")
        self.header: bool | tuple[str, ...] = header if isinstance(header, bool) else tuple(header)
        if isinstance(self.header, tuple):
            _check_unique(self.header, "header")
        check_csv_format(dialect, fmtparams)
        self.dialect = dialect
        self.fmtparams = dict(fmtparams)

    def _read(self, chunk: FileChunk, emit: Callable[[Any], None]) -> None:
        if not chunk.whole:
            raise InputError(f"{chunk.path}: a CSV file is read whole, not from byte {chunk.start}")
        try:
            with (
                open_read(chunk.path) as binary,
                io.TextIOWrapper(
                    binary, encoding=self.encoding, errors=self.errors, newline=""
                ) as text,
            ):
                self._rows(csv.reader(text, self.dialect, **self.fmtparams), chunk.path, emit)
        except read_errors() as exc:
            raise InputError(f"cannot read {chunk.path!r}: {exc}") from None

    def _rows(self, reader: Any, path: str, emit: Callable[[Any], None]) -> None:
        header = self.header
        fields: tuple[str, ...] | None = header if isinstance(header, tuple) else None
        try:
            if header is True:
                first = next((row for row in reader if row), None)
                if first is None:
                    return  # an empty file
                fields = tuple(first)
                _check_unique(fields, f"{path} line {reader.line_num}: the header")
            if fields is None:
                for row in reader:
                    if row:
                        emit(row)
                return
            width = len(fields)
            for row in reader:
                if len(row) != width:
                    if not row:
                        continue
                    raise InputError(
                        f"{path} line {reader.line_num}: {len(row)} fields, but the header "
                        f"has {width} ({', '.join(fields)})"
                    )
                emit(dict(zip(fields, row, strict=True)))
        except csv.Error as exc:
            raise InputError(f"{path} line {reader.line_num}: bad CSV: {exc}") from None
        except UnicodeDecodeError as exc:
            # Text is decoded ahead of the records: find the line itself.
            if byte_splittable(self.encoding):
                for _ in LineSource(FileChunk(path), self.encoding, self.errors):
                    pass
            raise InputError(
                f"{path} after line {reader.line_num}: not valid {self.encoding} "
                f"({exc.reason}); give the file's encoding, or errors='replace'"
            ) from None


def _check_unique(fields: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    twice: set[str] = set()
    for field in fields:
        (twice if field in seen else seen).add(field)
    if twice:
        raise InputError(f"{what} names a field twice: {', '.join(sorted(twice))}")


class WriteCSV(FileWriter):
    """Writes each row that arrives as one CSV record: a ``dict`` (its
    values in the order of ``fieldnames``, missing keys left empty, a key
    outside them an error) or a list/tuple (as is).

    ``fieldnames`` default to the keys of the first dict row; with
    ``header=True`` they are written first in every file (given
    ``fieldnames``, even in a file that gets no row). ``dialect`` and
    ``fmtparams`` are those of :func:`csv.writer`. Files, parts and the
    reported result are as for every :class:`FileWriter`.
    """

    newline = ""  # the csv module writes its own line endings

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fieldnames: Sequence[str] | None = None,
        header: bool = True,
        one_file: bool = False,
        encoding: str = "utf-8",
        dialect: Dialect = "excel",
        numprocesses: int = 1,
        **fmtparams: Any,
    ) -> None:
        super().__init__(path, one_file=one_file, encoding=encoding, numprocesses=numprocesses)
        if isinstance(fieldnames, str):
            raise TypeError("fieldnames must be a list of names, not a str")
        self.fieldnames = None if fieldnames is None else tuple(fieldnames)
        if self.fieldnames is not None:
            _check_unique(self.fieldnames, "fieldnames")
        self.header = header
        check_csv_format(dialect, fmtparams)
        self.dialect = dialect
        self.fmtparams = dict(fmtparams)
        self._csv: Any = None
        self._fields: tuple[Any, ...] | None = None
        self._known: frozenset[Any] = frozenset()

    def _begin(self, stream: IO[str]) -> None:
        self._csv = csv.writer(stream, self.dialect, **self.fmtparams)
        self._fields = self.fieldnames
        self._known = frozenset(self.fieldnames or ())
        if self._fields is not None and self.header:
            self._csv.writerow(self._fields)

    def _write_values(self, stream: IO[str], values: list[Any]) -> None:
        writerow = self._csv.writerow
        for row in values:
            if isinstance(row, Mapping):
                writerow(self._dict_row(row))
            elif isinstance(row, (list, tuple)):
                writerow(row)
            else:
                raise TypeError(
                    f"WriteCSV writes rows given as dicts or lists/tuples, not "
                    f"{type(row).__name__}: {row!r}"
                )

    def _dict_row(self, row: Mapping[Any, Any]) -> list[Any]:
        fields = self._fields
        if fields is None:
            fields = self._fields = tuple(row)
            self._known = frozenset(fields)
            if self.header:
                self._csv.writerow(fields)
        if not row.keys() <= self._known:
            extra = ", ".join(repr(key) for key in row if key not in self._known)
            raise ValueError(
                f"a row has fields that are not in the CSV's fields "
                f"({', '.join(map(str, fields))}): {extra}; give fieldnames=[...] naming "
                f"every field"
            )
        return [row.get(field, "") for field in fields]
