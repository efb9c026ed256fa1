"""The driver's end: runners connect back here with their reports, which
core's :class:`~d4p_core.backend.ReportSink` acts on; the run is over
exactly when every instance reported ``done``. What only Storm knows comes
in through :meth:`Driver.post` on the same queue: a Storm error for the
topology, a LocalCluster JVM that exited. A task's watcher
(:mod:`d4p_storm._watcher`) reports how its runner died. What the tasks'
PEs print arrives on the same connections and goes to this process's
standard error (never its standard output: that is for results).
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from d4p_core import RunError
from d4p_core.backend import Address, Report, ReportSink

from ._report import OUTPUT, read_frame

__all__ = ["EXITED", "LOST_GRACE", "STORM_ERROR", "Driver"]

_POLL = 0.2

LOST_GRACE = 5.0
"""Seconds a task whose connection dropped before it finished gets for its
watcher's ``lost`` report (how the runner died) before it is reported as
gone away. Only a failing run waits, and at most this long."""

STORM_ERROR = "storm-error"
"""An error Storm recorded for the topology (payload: its text)."""

EXITED = "exited"
"""The LocalCluster JVM exited (payload: what its log says)."""

_GONE = "gone"  # a runner's connection closed


class Driver:
    """Listens on ``bind`` (an ephemeral port); runners reach it at
    ``advertise`` (defaults to the bound host)."""

    def __init__(self, bind: str = "127.0.0.1", advertise: str | None = None) -> None:
        self.token = secrets.token_hex(16)
        self._server = socket.create_server((bind, 0))
        self.address = (advertise or bind, self._server.getsockname()[1])
        self._events: queue.Queue[tuple[str, Address | None, Any]] = queue.Queue()
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self._alive_since: dict[Address, float] = {}  # task -> when its process started
        threading.Thread(target=self._accept, name="d4p-storm-driver", daemon=True).start()

    def post(self, kind: str, payload: Any) -> None:
        """An event from outside the runners (:data:`STORM_ERROR`, :data:`EXITED`)."""
        self._events.put((kind, None, payload))

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    connection.close()
                    return
                self._connections.append(connection)
            threading.Thread(
                target=self._serve, args=(connection,), name="d4p-storm-runner-link", daemon=True
            ).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            hello = read_frame(connection)
            if not (isinstance(hello, tuple) and hello[:2] == ("hello", self.token)):
                return
            address: Address = hello[2]
            alive_for = hello[3] if len(hello) > 3 else 0.0
            with self._lock:  # the runner's own hello comes first; its watcher's may follow
                self._alive_since.setdefault(address, time.monotonic() - float(alive_for))
            while True:
                frame = read_frame(connection)
                if frame is None:
                    self._events.put((_GONE, address, None))
                    return
                kind, payload = frame
                self._events.put((kind, address, payload))
        except (OSError, EOFError, ValueError):
            return
        finally:
            connection.close()

    def collect(
        self,
        sink: ReportSink,
        owner: Mapping[Address, int],
        check: Callable[[], None] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Hand every report to ``sink`` (the worker is ``owner[address]``)
        until every worker reported done; raise :class:`RunError` on the
        first failure (the sink's, a worker gone before finishing: how it
        died if its watcher says so within :data:`LOST_GRACE`, or Storm's).
        ``check`` runs between events (it raises if the cluster is gone)."""
        workers = len(set(owner.values()))
        deadline = None if timeout is None else time.monotonic() + timeout
        gone: dict[int, float] = {}  # unfinished worker -> end of its LOST_GRACE
        while len(sink.finished) < workers:
            now = time.monotonic()
            if deadline is not None and now > deadline:
                raise RunError(
                    f"the Storm run did not finish within {timeout:g} s "
                    f"({workers - len(sink.finished)} of {workers} PE instances still running)"
                )
            for worker, until in gone.items():
                if now >= until:  # no word from its watcher
                    raise sink.lost(worker, "went away")
            wait = min([_POLL, *(until - now for until in gone.values())])
            try:
                kind, address, payload = self._events.get(timeout=wait)
            except queue.Empty:
                if check is not None:
                    check()
                continue
            if kind == STORM_ERROR:
                if gone:  # most likely about the dead task, which its watcher tells better
                    continue
                raise RunError(f"Storm reported an error: {payload}")
            if kind == EXITED:
                raise RunError(str(payload))
            if kind == OUTPUT:
                sys.stderr.write(f"{payload}\n")
                sys.stderr.flush()
                continue
            assert address is not None
            worker = owner[address]
            if kind == _GONE:
                if worker not in sink.finished:
                    gone.setdefault(worker, time.monotonic() + LOST_GRACE)
            elif kind != Report.LOST or worker not in sink.finished:
                sink.handle(kind, worker, payload)

    def process_seconds(self, until: float) -> float:
        """The task processes' lifetimes up to ``until`` (``time.monotonic()``
        when the topology was killed), summed: each from its start (as it
        reported when it connected) — ``RunResult.process_seconds``."""
        with self._lock:
            return sum(max(0.0, until - since) for since in self._alive_since.values())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        self._server.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
