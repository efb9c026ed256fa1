"""Parsing what the CLI printed."""

from __future__ import annotations

import json


def error_line(stderr: str) -> str:
    """The one ``d4p: error:`` line of ``stderr``."""
    lines = [line for line in stderr.splitlines() if line.startswith("d4p: error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def results(stdout: str) -> dict[str, list[object]]:
    """``{"pe.output": [values]}`` from the JSON lines of ``d4p run``."""
    found: dict[str, list[object]] = {}
    for line in stdout.splitlines():
        record = json.loads(line)
        assert set(record) == {"pe", "output", "value"}, record
        found.setdefault(f"{record['pe']}.{record['output']}", []).append(record["value"])
    return found
