"""Results as they arrive when d4p launched the job itself: rank 0 runs in
a process ``mpiexec`` started, not in the caller's, so the caller's result
callback (``run(..., on_result=f)``, ``d4p_core.stream``) is not there.

When the caller wants results streamed, the driver listens on a unix socket
in the job's private directory; rank 0 connects and forwards every results
report (a batch, never an item at a time) as it handles it, and the driver
hands each result to the callback in the caller's thread while ``mpiexec``
runs. Without a callback nothing changes: the results come back with rank
0's outcome.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import threading
from collections.abc import Iterator
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from d4p_core.backend import ResultCallback

__all__ = ["ResultsAddress", "ResultsListener", "forward_results"]

ResultsAddress = tuple[str, bytes]
"""Where rank 0 sends results: the socket's path and the key it proves
itself with."""

_SOCKET_NAME = "results.sock"


class ResultsListener:
    """The driver's end: the socket rank 0 connects to, and the loop that
    hands what arrives to the callback until ``mpiexec`` has ended."""

    def __init__(self, directory: Path, callback: ResultCallback) -> None:
        key = os.urandom(32)
        path = str(directory / _SOCKET_NAME)
        self._listener = Listener(path, family="AF_UNIX", authkey=key)
        self.address: ResultsAddress = (path, key)
        self._callback = callback
        self._events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._accepted = threading.Event()

    def _receive(self) -> None:
        """Thread: take rank 0's connection and pass on what it sends."""
        try:
            connection = self._listener.accept()
        except Exception:  # noqa: BLE001 - the wake-up below, or a stranger: no results
            self._events.put(("closed", None))
            return
        self._accepted.set()
        with connection, contextlib.suppress(EOFError, OSError):
            while True:
                self._events.put(("results", connection.recv()))
        self._events.put(("closed", None))

    def _wait_for(self, launcher: subprocess.Popen[bytes]) -> None:
        """Thread: tell the loop when ``mpiexec`` ended."""
        self._events.put(("exit", launcher.wait()))

    def serve(self, launcher: subprocess.Popen[bytes]) -> int:
        """Deliver results until ``mpiexec`` ended and rank 0's connection
        is drained; return ``mpiexec``'s exit status."""
        threading.Thread(target=self._receive, name="d4p-mpi-results", daemon=True).start()
        threading.Thread(
            target=self._wait_for, args=(launcher,), name="d4p-mpi-wait", daemon=True
        ).start()
        status: int | None = None
        drained = False
        callback = self._callback
        while status is None or not drained:
            kind, payload = self._events.get()
            if kind == "results":
                for pe_id, output, value in payload:
                    callback(pe_id, output, value)
            elif kind == "closed":
                drained = True
            else:
                status = int(payload)
                if not self._accepted.is_set():
                    self._unblock()
        return status

    def _unblock(self) -> None:
        """Every rank has ended: if rank 0 never connected, connect (and
        hang up at once) so that the accepting thread returns. A connection
        rank 0 made first is taken and drained first; this one then waits in
        the backlog, unanswered, until the listener closes."""
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as wake:
            wake.connect(self.address[0])

    def close(self) -> None:
        self._listener.close()


@contextlib.contextmanager
def forward_results(address: ResultsAddress | None) -> Iterator[Connection | None]:
    """Rank 0's end: a connection to the driver's listener, or ``None`` when
    the caller keeps results until the end."""
    if address is None:
        yield None
        return
    connection = Client(address[0], family="AF_UNIX", authkey=address[1])
    try:
        yield connection
    finally:
        connection.close()
