"""A worker process never outlives the process that started it.

The starting side passes :func:`parent_token` to the worker, and the worker
calls :func:`die_with_parent` with it first thing. On Linux the kernel then
sends the worker SIGTERM when its parent ends, even while a PE is busy and
never returns to check; everywhere, :func:`parent_gone` lets the worker
notice between tasks.

Under ``forkserver`` a worker's parent is the fork server, which outlives
the process that asked for the worker. That process passes a
:class:`Lifeline` instead: a pipe whose write end only it holds; a thread of
the worker waits on the read end and sends its own process SIGTERM at
end-of-file, when the starting process has ended (however it ended).
"""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import multiprocessing.context
import os
import signal
import sys
import threading
from collections.abc import Callable

__all__ = ["Lifeline", "die_with_parent", "parent_gone", "parent_token", "watch_child"]

_PR_SET_PDEATHSIG = 1

# The parent this worker was started by, once die_with_parent has run.
_parent_pid: int | None = None
# Set when a Lifeline's starting process ended (forkserver workers).
_cut = threading.Event()


class Lifeline:
    """A pipe whose write end only the starting process holds (never
    written): its workers get :attr:`reader` as their parent token. Closed
    with :meth:`close` once the workers are stopped; a process that dies
    closes it too, which is the point."""

    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        self.reader, self._writer = context.Pipe(duplex=False)

    def close(self) -> None:
        self._writer.close()
        self.reader.close()


def _watch_lifeline(reader: multiprocessing.connection.Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        reader.recv_bytes()  # nothing is ever sent: returns at end-of-file
    _cut.set()
    os.kill(os.getpid(), signal.SIGTERM)  # also while the main thread is in a PE


def parent_token(context: multiprocessing.context.BaseContext) -> int | None:
    """What the starting process passes to its workers: its own pid, or
    ``None`` under ``forkserver``, whose workers are children of the fork
    server (which ends when the process that uses it does)."""
    return None if context.get_start_method() == "forkserver" else os.getpid()


def die_with_parent(parent: int | multiprocessing.connection.Connection | None) -> None:
    """Tie this worker's life to its parent's (``parent`` from
    :func:`parent_token`, or a :class:`Lifeline`'s reader).

    A parent that ended before the kernel was asked sends no signal, so the
    parent is checked once more afterwards: a worker whose parent is already
    gone exits at once."""
    global _parent_pid
    if isinstance(parent, multiprocessing.connection.Connection):
        threading.Thread(
            target=_watch_lifeline, args=(parent,), name="d4p-lifeline", daemon=True
        ).start()
        parent = None
    expected = os.getppid() if parent is None else parent
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != expected:
        raise SystemExit(0)
    _parent_pid = expected


def parent_gone() -> bool:
    """True when this worker was re-parented: the process that started it
    ended (works for every start method, unlike the parent's sentinel, which
    forked siblings keep open)."""
    return _cut.is_set() or (_parent_pid is not None and os.getppid() != _parent_pid)


def watch_child(
    work: Callable[[], int],
    on_exit: Callable[[int], None],
    *,
    in_watcher: Callable[[], None] | None = None,
    detach_stdio: bool = False,
) -> int:
    """Run ``work`` in a forked child, watched by this process.

    For workers that someone else's launcher starts and reaps (MPI's Hydra,
    Storm's JVM): the launcher sees only the process it started, so how the
    worker ended would be lost. The child (tied to the watcher with
    :func:`die_with_parent`) runs ``work`` and this function returns its
    result there. The watcher runs ``in_watcher``, ignores SIGINT (a Ctrl-C
    is the worker's to handle), with ``detach_stdio`` gives its stdin and
    stdout to the child alone (the launcher sees end-of-file when the worker
    dies), waits, calls ``on_exit(code)`` (``-signal`` if a signal ended the
    child) and returns the status to exit with: the child's, or 128 + the
    signal.
    """
    watcher = os.getpid()
    child = os.fork()
    if child == 0:
        die_with_parent(watcher)
        return work()
    if in_watcher is not None:
        in_watcher()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if detach_stdio:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1):
            os.dup2(null, fd)
        os.close(null)
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    on_exit(code)
    return 128 - code if code < 0 else code
