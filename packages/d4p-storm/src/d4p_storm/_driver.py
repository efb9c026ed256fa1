"""The driver's end: runners connect back here with results and how their
instance ended; the run is over exactly when every instance reported
``done``. Events from the launcher or Nimbus (a Storm error, a JVM that
exited) come in through :meth:`Driver.post` on the same queue.
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from d4p_core import Outputs, PEMetrics, RunError
from d4p_core.backend import Address, FailureInfo

from ._report import read_frame

__all__ = ["Driver"]

_POLL = 0.2


class Driver:
    """Listens on ``bind`` (an ephemeral port); runners reach it at
    ``advertise`` (defaults to the bound host)."""

    def __init__(self, bind: str = "127.0.0.1", advertise: str | None = None) -> None:
        self.token = secrets.token_hex(16)
        self._server = socket.create_server((bind, 0))
        self.address = (advertise or bind, self._server.getsockname()[1])
        self._events: queue.Queue[tuple[str, Any, Any]] = queue.Queue()
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="d4p-storm-driver", daemon=True).start()

    def post(self, kind: str, payload: Any) -> None:
        """An event from outside the runners (``storm-error``, ``exited``)."""
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
            while True:
                frame = read_frame(connection)
                if frame is None:
                    self._events.put(("closed", address, None))
                    return
                kind, payload = frame
                self._events.put((kind, address, payload))
        except (OSError, EOFError, ValueError):
            return
        finally:
            connection.close()

    def collect(
        self,
        instances: int,
        check: Callable[[], None] | None = None,
        timeout: float | None = None,
    ) -> tuple[Outputs, dict[Address, PEMetrics]]:
        """Wait until ``instances`` instances reported done; raise
        :class:`RunError` on the first failure. ``check`` runs between
        events (it raises if the cluster is gone)."""
        outputs: Outputs = {}
        finished: dict[Address, PEMetrics] = {}
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(finished) < instances:
            if deadline is not None and time.monotonic() > deadline:
                waiting = instances - len(finished)
                raise RunError(
                    f"the Storm run did not finish within {timeout:g} s "
                    f"({waiting} of {instances} PE instances still running)"
                )
            try:
                kind, address, payload = self._events.get(timeout=_POLL)
            except queue.Empty:
                if check is not None:
                    check()
                continue
            if kind == "results":
                for pe_id, output, value in payload:
                    outputs.setdefault(pe_id, {}).setdefault(output, []).append(value)
            elif kind == "done":
                finished.update(payload)
            elif kind == "failed":
                assert isinstance(payload, FailureInfo)
                raise payload.to_error()
            elif kind == "crashed":
                raise RunError(
                    f"the Storm task running {address[0]}[{address[1]}] crashed: "
                    f"{payload.splitlines()[0]}",
                    remote_traceback=payload,
                )
            elif kind == "closed":
                if address not in finished:
                    raise RunError(
                        f"the Storm task running {address[0]}[{address[1]}] "
                        "went away before finishing"
                    )
            elif kind == "storm-error":
                raise RunError(f"Storm reported an error: {payload}")
            elif kind == "exited":
                raise RunError(str(payload))
        return outputs, finished

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
