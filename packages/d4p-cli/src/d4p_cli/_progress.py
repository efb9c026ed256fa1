"""The live progress line shown on a terminal while a run is going.

Core reports metrics only when a run ends, so the line shows the mapping,
the workflow and the elapsed time; the summary table follows at the end. It
writes with ``os.write`` (no Python-level lock a forked worker could inherit
held) and only when stderr is a terminal.
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType
from typing import TextIO

__all__ = ["Progress", "wants_progress"]

_CLEAR = "\r\x1b[K"


def wants_progress(stream: TextIO, quiet: bool) -> bool:
    if quiet:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """``with Progress(stderr, label):`` — a ticking line that is erased at the end."""

    def __init__(self, stream: TextIO, label: str, *, interval: float = 0.25) -> None:
        self._fd = stream.fileno()
        self._label = label
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="d4p-progress", daemon=True)
        self._started = 0.0

    def line(self, elapsed: float) -> str:
        return f"d4p: {self._label} · {elapsed:.1f} s elapsed"

    def _write(self, text: str) -> None:
        try:
            os.write(self._fd, text.encode("utf-8", errors="replace"))
        except OSError:
            self._stop.set()

    def _loop(self) -> None:
        while True:
            self._write(_CLEAR + self.line(time.perf_counter() - self._started))
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> Progress:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._write(_CLEAR)
