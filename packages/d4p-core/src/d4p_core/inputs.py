"""What the roots of a run are fed: DESIGN.md §3.3, shared by every mapping.

* ``None`` → every source runs once with ``{}``;
* an int ``N`` → every source runs ``N`` times with ``{}``;
* a mapping ``{pe | pe name | pe id: N | [input dict, ...]}`` → those PEs get
  those blocks; sources not mentioned run once with ``{}`` (never hang).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .errors import InputError
from .model.graph import FlatGraph
from .model.pe import GenericPE

__all__ = [
    "InputSpec",
    "Inputs",
    "iter_blocks",
    "load_inputs_file",
    "parse_inputs_json",
    "resolve_inputs",
]

InputSpec = int | list[Any]
"""Either a number of ``{}`` calls or the list of input blocks, one per call."""

Inputs = None | int | Mapping[Any, int | Sequence[Any]]


def iter_blocks(spec: InputSpec) -> Iterator[Any]:
    """The input blocks a spec stands for, one per ``process`` call."""
    if isinstance(spec, int):
        for _ in range(spec):
            yield {}
    else:
        yield from spec


def resolve_inputs(flat: FlatGraph, inputs: Inputs, sources: Sequence[str]) -> dict[str, InputSpec]:
    """Normalise ``inputs`` to ``{pe_id: spec}`` for ``flat``; every source is present."""
    if inputs is None:
        return {source: 1 for source in sources}
    if isinstance(inputs, bool) or not isinstance(inputs, (int, Mapping)):
        raise InputError(
            f"inputs must be a number of iterations or a mapping {{PE: N | [blocks]}}, "
            f"not {type(inputs).__name__}"
        )
    if isinstance(inputs, int):
        _check_count(inputs, "iterations")
        return {source: inputs for source in sources}

    resolved: dict[str, InputSpec] = {}
    for key, value in inputs.items():
        pe_id = _resolve_key(flat, key)
        if pe_id in resolved:
            raise InputError(f"inputs name PE {pe_id!r} twice (by object, name or id)")
        resolved[pe_id] = _spec(pe_id, value)
    for source in sources:
        resolved.setdefault(source, 1)
    return resolved


def _check_count(value: int, what: str) -> None:
    if value < 0:
        raise InputError(f"{what} must be >= 0, not {value}")


def _spec(pe_id: str, value: Any) -> InputSpec:
    if isinstance(value, bool):
        raise InputError(f"input for {pe_id!r} must be a count or a list of blocks, not {value!r}")
    if isinstance(value, int):
        _check_count(value, f"the input count for {pe_id!r}")
        return value
    if isinstance(value, (list, tuple)):
        return list(value)
    raise InputError(
        f"input for {pe_id!r} must be a count or a list of input blocks, not {type(value).__name__}"
    )


def _resolve_key(flat: FlatGraph, key: Any) -> str:
    if isinstance(key, GenericPE):
        for pe in flat.pes:
            if pe is key:
                return pe.id
        raise InputError(f"inputs name PE {key!r}, which is not in the graph")
    if not isinstance(key, str):
        raise InputError(f"input keys must be PEs, PE names or PE ids, not {key!r}")
    by_id = [pe.id for pe in flat.pes if pe.id == key]
    if by_id:
        return by_id[0]
    by_name = [pe.id for pe in flat.pes if pe.name == key]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise InputError(
            f"input key {key!r} names several PEs ({', '.join(by_name)}); key it by id"
        )
    valid = sorted({pe.name for pe in flat.pes} | {pe.id for pe in flat.pes})
    raise InputError(f"unknown PE {key!r} in inputs; valid names and ids: {', '.join(valid)}")


def parse_inputs_json(text: str) -> dict[str, Any]:
    """Parse ``-d`` JSON: an object ``{pe name|id: N | [block, ...]}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid input JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(data, dict):
        raise InputError(
            f"input JSON must be an object {{PE: N | [blocks]}}, not {type(data).__name__}"
        )
    return data


def load_inputs_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``-f`` input JSON from a file."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read input file {os.fspath(path)!r}: {exc.strerror}") from exc
    try:
        return parse_inputs_json(text)
    except InputError as exc:
        raise InputError(f"{os.fspath(path)}: {exc}") from exc
