"""PEs that print and log, for the output relay tests (importable by the
Storm tasks, which load the PEs by reference)."""

from __future__ import annotations

import sys
from typing import Any

from d4p_core import IterativePE, ProducerPE

__all__ = ["Talker", "TalkingSource", "expected_lines"]


class TalkingSource(ProducerPE):
    """Emits 1, 2, 3...; says so once, in ``preprocess``."""

    def __init__(self) -> None:
        super().__init__()
        self.counter = 0

    def _preprocess(self) -> None:
        print("source ready")

    def _process(self, inputs: Any) -> int:
        self.counter += 1
        return self.counter


class Talker(IterativePE):
    """For each item: prints it to stdout and to stderr, logs it with
    ``self.log`` and passes it on; at the end writes a line without its
    newline."""

    def __init__(self, numprocesses: int = 1) -> None:
        super().__init__()
        self.numprocesses = numprocesses

    def _process(self, data: Any) -> Any:
        print(f"out {data}")
        print(f"err {data}", file=sys.stderr)
        self.log(f"log {data}")
        return data

    def _postprocess(self) -> None:
        sys.stdout.write("no newline")


def expected_lines(pe_id: str, index: int, items: list[int]) -> list[str]:
    """What the driver shows for one Talker instance given ``items``."""
    prefix = f"{pe_id} (rank {index}): "
    lines = [prefix + f"{kind} {item}" for item in items for kind in ("out", "err", "log")]
    return [*lines, prefix + "no newline"]
