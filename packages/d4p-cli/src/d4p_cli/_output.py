"""What a run prints: results as JSON lines, the metrics file, the summary table."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import IO, Any, TextIO

from d4p_core import PEMetrics, RunResult

__all__ = [
    "metrics_document",
    "result_lines",
    "summary_table",
    "to_jsonable",
    "write_metrics",
    "write_results",
]


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


def result_lines(result: RunResult) -> Iterator[str]:
    """One JSON object per result item: ``{"pe": .., "output": .., "value": ..}``."""
    for pe_id, by_output in result.outputs.items():
        for output, values in by_output.items():
            for value in values:
                record = {"pe": pe_id, "output": output, "value": value}
                yield json.dumps(record, default=to_jsonable)


def write_results(result: RunResult, stream: IO[str]) -> int:
    """Write every result item to ``stream``; returns how many."""
    count = 0
    for line in result_lines(result):
        stream.write(line + "\n")
        count += 1
    stream.flush()
    return count


def _metrics(metrics: PEMetrics) -> dict[str, Any]:
    document = dataclasses.asdict(metrics)
    document.pop("pe_id", None)
    return document


def metrics_document(result: RunResult) -> dict[str, Any]:
    """The ``--metrics`` file: totals, per-PE and per-instance counters, result counts."""
    return {
        "mapping": result.mapping,
        "elapsed_seconds": result.elapsed_seconds,
        "results": {
            pe_id: {output: len(values) for output, values in by_output.items()}
            for pe_id, by_output in result.outputs.items()
        },
        "pes": {pe_id: _metrics(m) for pe_id, m in result.metrics.items()},
        "instances": {
            pe_id: {str(index): _metrics(m) for index, m in by_instance.items()}
            for pe_id, by_instance in result.instance_metrics.items()
        },
    }


def write_metrics(result: RunResult, stream: IO[str]) -> None:
    json.dump(metrics_document(result), stream, indent=2, default=to_jsonable)
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
