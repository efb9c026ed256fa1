"""The private directory that holds an ipc run's socket files, and who
removes it.

The driver removes it whenever it ends the run itself: success, a failure,
Ctrl-C, SIGTERM (:mod:`d4p_zmq._signals`). A driver killed outright
(SIGKILL, the OOM killer) cannot, so its local workers do. Each is told the
directory when it starts and, once it is ready to clean up after the driver
(:meth:`IpcDir.remove_when_orphaned`), says so; only when all are ready does
the driver make the directory (mode 0700, so only the user can reach the
sockets). Whenever the driver dies there is either no directory yet or
workers that know it.

A worker learns of its driver's death either way it can: the kernel sends
it SIGTERM (core's ``die_with_parent``; not under ``forkserver``), or its
connection to the driver breaks. Either sign can come a little before the
driver has ended for good (the threads of a dying process end one by one),
so the worker waits up to :data:`DRIVER_EXIT_WAIT` seconds for that before
it decides; a live driver that stops a worker (SIGTERM after its grace)
costs that wait. The first worker removes the directory; the others find
nothing left.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from types import FrameType

import zmq

from d4p_core import D4pError

__all__ = ["DRIVER_EXIT_WAIT", "IpcDir"]

PREFIX = "d4p-zmq-"
_LONGEST_NAME = len("/driver")
"""Of a socket in the directory (the workers' "/w0", "/w1"... are shorter up
to a million workers)."""

DRIVER_EXIT_WAIT = 1.0
"""Seconds a worker that saw a sign of its driver's death waits for the
driver to have ended (a dying process is gone within milliseconds)."""


def _ended(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie has; a process this user
    may not signal has not, as far as anyone here can tell)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


@dataclass(frozen=True)
class IpcDir:
    """The run's ipc directory: its path and the driver that owns it."""

    path: str
    driver: int
    """The driver's pid (under ``forkserver`` it is not the worker's parent)."""

    @classmethod
    def new(cls) -> IpcDir:
        """A directory to be made in the temporary directory; the name is
        random (64 bits) and travels only to the run's own processes, so no
        one else can take it first."""
        path = os.path.join(tempfile.gettempdir(), PREFIX + secrets.token_hex(8))
        limit = getattr(zmq, "IPC_PATH_MAX_LEN", 0)
        if limit and len(path) + _LONGEST_NAME > limit:
            raise D4pError(
                f"the temporary directory {tempfile.gettempdir()} has too long a path for the "
                f"run's ipc sockets (at most {limit - _LONGEST_NAME - len(PREFIX) - 17} "
                "characters); set TMPDIR to a shorter one, or use --transport tcp"
            )
        return cls(path, os.getpid())

    def make(self) -> None:
        """Make the directory, the user's alone."""
        try:
            os.mkdir(self.path, 0o700)
        except OSError as exc:
            raise D4pError(f"cannot make the directory for the run's ipc sockets: {exc}") from exc

    def endpoint(self, name: str) -> str:
        return f"ipc://{self.path}/{name}"

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def remove_if_orphaned(self, wait: float = 0.0) -> None:
        """In a local worker: remove the directory if the driver has ended,
        or ends within ``wait`` seconds (a live driver removes it itself)."""
        deadline = time.monotonic() + wait
        while not _ended(self.driver):
            if time.monotonic() >= deadline:
                return
            time.sleep(0.005)
        self.remove()

    def remove_when_orphaned(self) -> None:
        """In a local worker: on SIGTERM, remove the directory if the driver
        has ended, then end by SIGTERM exactly as without this handler (a
        live driver sees ``killed by signal SIGTERM``)."""

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            self.remove_if_orphaned(DRIVER_EXIT_WAIT)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)
