"""SIGTERM ends a run the way Ctrl-C does: through the driver's clean-up.

Python's default for SIGTERM ends the process on the spot, so a driver
stopped by ``kill``, a service manager or a batch scheduler (SLURM cancels a
job with SIGTERM) would skip its clean-up: no worker stopped by it (each
then has to notice on its own), a Redis run's keys left to their lease, a
ZeroMQ ipc directory left on disk. While a mapping's template runs a
backend (:class:`~d4p_core.backend.FixedPlacementMapping`,
:class:`~d4p_core.backend.DynamicMappingBase`) from the main thread, and
nobody else has set a SIGTERM handler, the first SIGTERM raises
``SystemExit(143)`` there instead: every ``finally`` of the run stops its
processes and removes what it made, and the process exits with the status a
SIGTERM gives (128 + 15), printing nothing. A second SIGTERM ends it at
once. Worker processes reset SIGTERM to the default when they start (core's
``LocalProcesses``): a worker killed with its parent must die even inside a
PE that never returns to Python. A process forked while the handler is
installed inherits it until it resets SIGTERM; a SIGTERM in that window (the
whole process group is signalled while the driver starts workers) ends it by
the signal: a ``SystemExit`` raised there could land in an at-fork callback
(``random``'s reseeding), which prints it and carries on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["sigterm_ends_the_run"]


@contextlib.contextmanager
def sigterm_ends_the_run() -> Iterator[None]:
    """Meanwhile, SIGTERM raises ``SystemExit(143)`` in the main thread."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield  # someone else decides what SIGTERM does
        return

    owner = os.getpid()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if os.getpid() != owner:  # a child forked meanwhile, not yet reset
            signal.raise_signal(signal.SIGTERM)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
