"""Ctrl-C around a run: it ends the run through the driver's clean-up,
and never half-way through starting a worker. (SIGTERM does the same for
every mapping: core's ``sigterm_ends_the_run`` in the mapping template.)

Ctrl-C reaches the whole process group. Workers ignore it; the driver alone
stops the run. While workers start it is held back (:func:`interrupts_held`):
a KeyboardInterrupt raised inside ``fork`` (multiprocessing's at-fork hooks)
is printed and lost, so the run would go on, and a worker interrupted before
it ignores SIGINT prints a traceback. Held, it arrives in the driver right
after, and new workers inherit it held until they ignore it
(:func:`ignore_interrupts`).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

__all__ = ["ignore_interrupts", "interrupts_held"]

_SIGINT = {signal.SIGINT}


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
