"""The live progress line shown on a terminal while a run is going.

It shows the elapsed time, the items processed per PE so far and the
overall throughput, from the counts core reports to its progress listener
(about twice a second); the summary table follows at the end. It writes with
``os.write`` (no Python-level lock a forked worker could inherit held) and
only when stderr is a terminal.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TextIO

from d4p_core import set_progress_listener

__all__ = ["Progress", "listening", "wants_progress"]

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
        self._counts: dict[str, int] = {}

    def update(self, counts: dict[str, int]) -> None:
        """Core's progress listener: calls so far per PE."""
        self._counts = dict(counts)

    def line(self, elapsed: float) -> str:
        text = f"d4p: {self._label} · {elapsed:.1f} s"
        counts = self._counts
        if counts:
            total = sum(counts.values())
            rate = total / elapsed if elapsed > 0 else 0.0
            per_pe = " ".join(f"{pe}={n}" for pe, n in counts.items())
            text += f" · {rate:,.0f} items/s · {per_pe}"
        width = _terminal_width(self._fd)
        return text if len(text) <= width else text[: width - 1] + "…"

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

    def close(self) -> None:
        """Stop ticking and erase the line (before the summary is printed)."""
        if not self._stop.is_set():
            self._stop.set()
            self._thread.join()
            self._write(_CLEAR)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def listening(listener: Callable[[dict[str, int]], None]) -> Iterator[None]:
    """Core's progress listener while the block runs (about twice a second
    while a run goes on, in the process that started it)."""
    set_progress_listener(listener)
    try:
        yield
    finally:
        set_progress_listener(None)


def _terminal_width(fd: int) -> int:
    try:
        columns = os.get_terminal_size(fd).columns
    except OSError:
        columns = 0
    return columns if columns >= 40 else 120  # 0: the terminal does not say
