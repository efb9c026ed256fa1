"""The JSON lines writer."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import IO, Any

from ._writer import FileWriter

__all__ = ["WriteJSONLines"]


class WriteJSONLines(FileWriter):
    """Writes each item that arrives as one line of JSON (compact, UTF-8
    text unless ``ensure_ascii``). ``default`` turns a value JSON cannot
    hold into one it can (``default=str`` writes it as text); without it
    such a value fails the run, naming it. Files, parts and the reported
    result are as for every :class:`FileWriter`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        one_file: bool = False,
        encoding: str = "utf-8",
        ensure_ascii: bool = False,
        sort_keys: bool = False,
        default: Callable[[Any], Any] | None = None,
        numprocesses: int = 1,
    ) -> None:
        super().__init__(path, one_file=one_file, encoding=encoding, numprocesses=numprocesses)
        self.ensure_ascii = ensure_ascii
        self.sort_keys = sort_keys
        self.default = default
        self._encode: Callable[[Any], str] | None = None

    def _begin(self, stream: IO[str]) -> None:
        self._encode = json.JSONEncoder(
            ensure_ascii=self.ensure_ascii,
            sort_keys=self.sort_keys,
            default=self.default,
            separators=(",", ":"),
        ).encode

    def _write_values(self, stream: IO[str], values: list[Any]) -> None:
        encode = self._encode
        assert encode is not None
        lines = []
        for value in values:
            try:
                lines.append(encode(value))
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"cannot write {value!r} as JSON ({exc}); pass default=str to write "
                    f"such values as text"
                ) from None
        lines.append("")
        stream.write("\n".join(lines))
