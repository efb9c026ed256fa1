"""File I/O PEs: read lines, CSV and JSON lines; write JSON lines and CSV.

Standard library only, on every mapping.

**Reading.** A source has one instance on every mapping (the plan pins it),
and a dynamic mapping's copies of a PE all see ``instance == 0``: no PE
can learn "I am reader *k* of *n*". So a reader is two PEs, joined in a
composite (:class:`ReadLines`, :class:`ReadJSONLines`, :class:`ReadCSV`):

* :class:`SplitFiles`, the source, expands the paths (files, glob
  patterns, directories) and writes one :class:`FileChunk` per file, or per
  ``chunk_bytes`` byte range of a big file;
* a reading stage (:class:`LineReader`, :class:`JSONLinesReader`,
  :class:`CSVReader`), stateless and shuffled, reads each chunk it is
  handed and writes the items. Fixed mappings give it ``numprocesses``
  instances (round robin shares the chunks); dynamic mappings run a copy on
  every worker, which take the chunks as tasks.

Every line is read exactly once whatever the instance count: a chunk holds
the lines whose *first byte* lies in its range (a reader starting in the
middle of a line skips to the next one; one ending in the middle of a line
reads it to its end). Files are split only where that is safe: a byte
``0x0a`` must mean a newline (UTF-8, ASCII, Latin-1...; UTF-16 files are
read whole), the file must be seekable (``.gz``, ``.bz2``, ``.xz`` files
are decompressed and read whole) and a record must be a line (a CSV record
may span lines: CSV files are read whole, several files shared among the
instances).

**Writing.** :class:`WriteJSONLines` and :class:`WriteCSV` are sinks; each
copy that receives items claims its own *part* file (``out.jsonl`` ->
``out-0.jsonl``, ``out-1.jsonl``...; an exclusive lock tells a live
copy's part from a leftover), so copies never share a file, on any mapping.
``one_file=True`` writes exactly one file through a ``global`` input (one
instance; dynamic mappings refuse it like any stateful PE). Each copy
closes its file in postprocess and writes ``{"path", "items"}`` on its
``output``: the run's result says what was written.

Errors a user causes (a missing file, a pattern matching nothing, a line
that is not JSON, a CSV record with the wrong number of fields, text that
is not in the given encoding) fail the run with an
:class:`~d4p_core.InputError` naming the file and line.
"""

from __future__ import annotations

from ._chunks import DEFAULT_CHUNK_BYTES, FileChunk
from ._csvfiles import CSVReader, WriteCSV
from ._jsonl_writer import WriteJSONLines
from ._lines import LineSource
from ._read import ReadCSV, ReadFiles, ReadJSONLines, ReadLines, SplitFiles
from ._stage import ChunkReader
from ._text import JSONLinesReader, LineReader
from ._writer import FileWriter

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "CSVReader",
    "ChunkReader",
    "FileChunk",
    "FileWriter",
    "JSONLinesReader",
    "LineReader",
    "LineSource",
    "ReadCSV",
    "ReadFiles",
    "ReadJSONLines",
    "ReadLines",
    "SplitFiles",
    "WriteCSV",
    "WriteJSONLines",
]
