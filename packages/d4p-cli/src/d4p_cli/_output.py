"""What a run prints: results as JSON lines, the metrics file, the summary table."""

from __future__ import annotations

import dataclasses
import json
from json.encoder import encode_basestring_ascii as _encode_string
from typing import IO, Any, TextIO

from d4p_core import PEMetrics, RunResult

__all__ = [
    "OutputClosed",
    "ResultWriter",
    "metrics_document",
    "summary_table",
    "to_jsonable",
    "write_metrics",
]

_INFINITY = float("inf")


def to_jsonable(value: Any) -> Any:
    """``json.dumps`` fallback: sets as sorted lists, bytes as text, numpy-like
    values through ``tolist()``, dataclasses as objects, anything else as repr."""
    if isinstance(value, (set, frozenset)):
        items = list(value)
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return repr(value)


class OutputClosed(BaseException):
    """The reader of the results went away (``d4p run … | head``): the run
    stops. A BaseException, so that no PE or mapping takes it for its own
    failure."""


class ResultWriter:
    """Writes each result as a JSON line the moment it arrives (the run's
    result callback), so memory stays flat and ``| head`` sees the first
    lines at once; counts what it wrote per PE and output.

    Lines are the same as ``json.dumps({"pe": .., "output": .., "value": ..})``;
    the ``{"pe": .., "output": ..`` part is made once per output, and ints,
    strings and finite floats skip the general encoder (>1M lines/s).
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._write = stream.write
        self._encode = json.JSONEncoder(default=to_jsonable).encode
        self._prefixes: dict[tuple[str, str], str] = {}
        self.counts: dict[tuple[str, str], int] = {}

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def _value(self, value: Any) -> str:
        kind = type(value)
        if kind is int:
            return int.__repr__(value)
        if kind is str:
            return _encode_string(value)
        if kind is float and -_INFINITY < value < _INFINITY:
            return float.__repr__(value)
        return self._encode(value)

    def __call__(self, pe_id: str, output: str, value: Any) -> None:
        key = (pe_id, output)
        prefix = self._prefixes.get(key)
        if prefix is None:
            prefix = f'{{"pe": {json.dumps(pe_id)}, "output": {json.dumps(output)}, "value": '
            self._prefixes[key] = prefix
            self.counts[key] = 0
        try:
            self._write(prefix + self._value(value) + "}\n")
        except BrokenPipeError:
            raise OutputClosed from None
        self.counts[key] += 1

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise OutputClosed from None


def _metrics(metrics: PEMetrics) -> dict[str, Any]:
    document = dataclasses.asdict(metrics)
    document.pop("pe_id", None)
    return document


def metrics_document(result: RunResult, written: dict[tuple[str, str], int]) -> dict[str, Any]:
    """The ``--metrics`` file: totals, per-PE and per-instance counters, and
    ``written`` (results per PE and output, see :class:`ResultWriter`)."""
    results: dict[str, dict[str, int]] = {}
    for (pe_id, output), count in written.items():
        results.setdefault(pe_id, {})[output] = count
    return {
        "mapping": result.mapping,
        "elapsed_seconds": result.elapsed_seconds,
        "results": results,
        "pes": {pe_id: _metrics(m) for pe_id, m in result.metrics.items()},
        "instances": {
            pe_id: {str(index): _metrics(m) for index, m in by_instance.items()}
            for pe_id, by_instance in result.instance_metrics.items()
        },
    }


def write_metrics(result: RunResult, written: dict[tuple[str, str], int], stream: IO[str]) -> None:
    json.dump(metrics_document(result, written), stream, indent=2, default=to_jsonable)
    stream.write("\n")


def summary_table(result: RunResult, results: int, stream: TextIO) -> None:
    """Per PE: instances, items in/out, busy seconds; then totals."""
    header = ("PE", "instances", "items in", "items out", "busy s")
    rows = [
        (
            pe_id,
            str(m.instances),
            str(m.items_in),
            str(m.items_out),
            f"{m.busy_seconds:.3f}",
        )
        for pe_id, m in result.metrics.items()
    ]
    if rows:
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            cells = [row[0].ljust(widths[0])]
            cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
            stream.write("  ".join(cells).rstrip() + "\n")
    stream.write(
        f"{results} result(s) in {result.elapsed_seconds:.3f} s on the {result.mapping} mapping\n"
    )
    stream.flush()
