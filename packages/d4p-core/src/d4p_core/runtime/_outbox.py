"""Items waiting to leave for one instance hosted in another process."""

from __future__ import annotations

from typing import Any

from .transport import Batch

__all__ = ["Outbox"]


class Outbox:
    """Blocks for one destination, cut into batches of at most ``size`` items.

    A batch is a list of segments ``(input_name, values)``; consecutive
    blocks for the same input share a segment. Full batches wait in
    ``ready`` until the executor sends them; the last one is ``open``.
    """

    __slots__ = ("count", "open", "ready")

    def __init__(self) -> None:
        self.ready: list[Batch] = []
        self.open: Batch = []
        self.count = 0  # items in the open batch

    def add(self, input_name: str, values: list[Any], size: int) -> None:
        """Append ``values`` (the outbox may keep the list itself); ``size``
        may differ from call to call."""
        start, total = 0, len(values)
        while start < total:
            if self.count >= size:
                self._close()
            end = min(total, start + size - self.count)
            piece = values if start == 0 and end == total else values[start:end]
            segments = self.open
            if segments and segments[-1][0] == input_name:
                segments[-1][1].extend(piece)
            else:
                segments.append((input_name, piece))
            self.count += end - start
            start = end
        if self.count >= size:
            self._close()

    def _close(self) -> None:
        self.ready.append(self.open)
        self.open, self.count = [], 0

    def take_ready(self) -> list[Batch]:
        ready, self.ready = self.ready, []
        return ready

    def take_all(self) -> list[Batch]:
        batches = self.take_ready()
        if self.open:
            batches.append(self.open)
            self.open, self.count = [], 0
        return batches
