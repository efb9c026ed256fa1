"""``d4p mappings``: the installed mappings, read from their classes."""

from __future__ import annotations

import argparse
import json
import sys

from d4p_core import available_mappings

from ._mapping_info import MappingDetails, details
from ._parser import UsageParser, add_debug

__all__ = ["mappings_command"]


def _stateful(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _table(rows: list[MappingDetails]) -> str:
    header = ("MAPPING", "DISTRIBUTION", "VERSION", "STATEFUL", "DESCRIPTION")
    cells = [
        (
            row.name,
            row.distribution,
            row.version,
            _stateful(row.supports_stateful),
            row.description or (f"(cannot load: {row.error})" if row.error else "?"),
        )
        for row in rows
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *cells]:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def mappings_command(argv: list[str], *, prog: str) -> int:
    parser = UsageParser(
        prog=prog,
        description="List the installed mappings (entry-point group d4p.mappings); "
        "each is loaded to read whether it runs stateful PEs and its description.",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    # Accepted for scripts written for 0.1.0, where it made the listing load
    # the mappings; every listing loads them now.
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    add_debug(parser)
    args = parser.parse_args(argv)
    rows = [details(info) for info in available_mappings().values()]
    if args.json:
        sys.stdout.write(json.dumps([row.as_dict() for row in rows], indent=2) + "\n")
    elif rows:
        sys.stdout.write(_table(rows))
    else:
        sys.stderr.write("d4p: no mapping is installed (install d4p-core)\n")
    return 0
