"""What PEs print goes to stderr, each line prefixed with the PE instance.

A run's stdout carries its results only (``d4p run`` writes them there as
JSON lines), so ``print`` in a PE must not land there. While PEs run in a
process, :func:`pe_prints_to_stderr` replaces ``sys.stdout`` with a stream
that writes to stderr and starts each line with the printing PE, as
``self.log`` does: ``Square1 (rank 0): text``. The PE is found by looking up
the call stack for a ``self`` that is a PE, only when something is printed:
the engine pays nothing per item for it.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from types import FrameType
from typing import TextIO

from ..model.pe import GenericPE

__all__ = ["PEOutput", "pe_prints_to_stderr", "printing_pe", "send_pe_prints_to_stderr"]

_STACK_LIMIT = 40  # frames looked at for the printing PE


def printing_pe() -> str | None:
    """``"Square1 (rank 0)"`` for the innermost PE method on the stack."""
    frame: FrameType | None = sys._getframe(1)
    for _ in range(_STACK_LIMIT):
        if frame is None:
            return None
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, GenericPE):
            return f"{candidate.id} (rank {candidate.rank})"
        frame = frame.f_back
    return None


class PEOutput(io.TextIOBase):
    """A text stream for ``sys.stdout``: complete lines go to ``target``,
    prefixed with the PE that printed them (text printed outside a PE is
    passed on unprefixed)."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self._target = target
        self._partial = ""
        self._label: str | None = None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not self._partial:
            self._label = printing_pe()
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._target.write(f"{self._label}: {line}\n" if self._label else line + "\n")
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self.write("\n")
        self._target.flush()


@contextlib.contextmanager
def pe_prints_to_stderr() -> Iterator[None]:
    """Within the block, ``print`` in a PE writes prefixed lines to stderr."""
    if isinstance(sys.stdout, PEOutput):
        yield
        return
    original = sys.stdout
    sys.stdout = PEOutput(sys.stderr)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stdout = original


def send_pe_prints_to_stderr() -> None:
    """For a worker process: from now on, PEs print to stderr (prefixed)."""
    if not isinstance(sys.stdout, PEOutput):
        sys.stdout = PEOutput(sys.stderr)
