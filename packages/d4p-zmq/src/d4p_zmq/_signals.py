"""Signals around a run: Ctrl-C and SIGTERM end it through the driver's
clean-up, and never half-way through starting a worker.

* **SIGTERM.** Python's default ends the process on the spot, so a driver
  stopped by ``kill``, a service manager or a batch scheduler would leave its
  ipc directory behind and its workers to notice on their own. While a run
  is driven from the main thread and nobody else handles SIGTERM, the first
  one raises ``SystemExit(143)`` there instead (:func:`sigterm_ends_the_run`):
  the driver aborts its workers, stops them, removes its files and the
  process exits with the status a SIGTERM gives (a second one ends it at
  once).
* **Ctrl-C** reaches the whole process group. Workers ignore it; the driver
  alone stops the run. While workers start it is held back
  (:func:`interrupts_held`): a KeyboardInterrupt raised inside ``fork``
  (multiprocessing's at-fork hooks) is printed and lost, so the run would go
  on, and a worker interrupted before it ignores SIGINT prints a traceback.
  Held, it arrives in the driver right after, and new workers inherit it
  held until they ignore it (:func:`ignore_interrupts`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["ignore_interrupts", "interrupts_held", "sigterm_ends_the_run"]

_SIGINT = {signal.SIGINT}


@contextlib.contextmanager
def sigterm_ends_the_run() -> Iterator[None]:
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield  # someone else decides what SIGTERM does
        return

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold SIGINT back in this thread meanwhile (POSIX)."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    held = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, _SIGINT)
    try:
        yield
    finally:
        if not held:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGINT)


def ignore_interrupts() -> None:
    """In a worker: ignore SIGINT (the driver stops the run), then stop
    holding it back; an interrupt held since the start is discarded."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGINT)
