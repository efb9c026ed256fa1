"""Why a Storm task is two processes: a watcher and the runner it forks.

Storm (the JVM's ShellBolt / ShellSpout) starts every task's process and
reaps it, so how a task ended never reaches the d4p driver: a task killed
by SIGKILL (the OOM killer, a user) would only show as a dropped
connection. Every mapping names the signal of a lost worker (``worker N
(hosting ...) was killed by signal SIGKILL before finishing``), so the
process Storm starts forks first thing: the child is the real runner (it
keeps Storm's pipes and speaks the multilang protocol), the parent only
waits for it and never touches those pipes. Once connected, the child
tells the parent, over a pipe, how to reach the driver and which task it
is; if the child then ends by a signal (or a non-zero status), the parent
sends core's :attr:`~d4p_core.backend.Report.LOST` on its behalf. The child
dies with the parent (Storm stops a task by signalling the process it
started).
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Callable

from d4p_core.backend import Address, Report, exit_description, watch_child

from ._report import DriverLink

__all__ = ["Tell", "watched"]

Tell = Callable[[tuple[str, int], str, Address], None]
"""``tell(driver, token, address)``: the runner, once connected, tells its
watcher where the driver is, its token and the task's address."""


def watched(task: Callable[[Tell], int]) -> int:
    """Run ``task`` in a forked child under a watcher (core's
    :func:`~d4p_core.backend.watch_child`); return its status (in the child:
    what ``task`` returned; in the watcher: the child's exit status,
    ``128 + signal`` if a signal ended it)."""
    read_end, write_end = os.pipe()

    def work() -> int:
        os.close(read_end)
        return task(_teller(write_end))

    def on_exit(code: int) -> None:
        told = _told(read_end)
        if code != 0 and told is not None:
            with contextlib.suppress(OSError):  # the run may be over, its driver gone
                link = DriverLink(*told)
                link.send(Report.LOST, exit_description(code))
                link.close()

    # Storm's pipes are the runner's: Storm sees end-of-file when it dies.
    return watch_child(work, on_exit, in_watcher=lambda: os.close(write_end), detach_stdio=True)


def _teller(fd: int) -> Tell:
    def tell(driver: tuple[str, int], token: str, address: Address) -> None:
        os.write(fd, pickle.dumps((driver, token, address)))
        os.close(fd)

    return tell


def _told(fd: int) -> tuple[tuple[str, int], str, Address] | None:
    """What the runner told (read without blocking: a process it started
    may still hold the pipe)."""
    os.set_blocking(fd, False)
    data = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 1 << 16):
            data += chunk
    os.close(fd)
    if not data:
        return None
    told: tuple[tuple[str, int], str, Address] = pickle.loads(data)
    return told
