"""The runners' channel back to the driver: length-prefixed pickled frames
over TCP.

A runner sends ``("hello", token, address, alive_for)`` first (``alive_for``:
the seconds its task process had lived when it connected; a watcher's
``hello`` and older runners leave it out), then core's reports
(:class:`~d4p_core.backend.Report`, batched by a
:class:`~d4p_core.backend.BatchingReporter`) as ``(kind, payload)`` frames:
``results`` batches, ``progress``, and finally ``done``, ``failed`` or
``crashed``; a runner's watcher (:mod:`d4p_storm._watcher`) sends ``lost``
for a runner that died. What a report means is core's; this module only
carries it. Between them go :data:`OUTPUT` frames: lines the task's PE
printed (:mod:`d4p_storm._output`), for the driver's standard error.
"""

from __future__ import annotations

import pickle
import socket
import struct
import threading
from typing import Any

from d4p_core.backend import Address, Report

__all__ = ["OUTPUT", "DriverLink", "read_frame", "write_frame"]

OUTPUT = "output"
"""A frame of PE output: complete lines, already prefixed."""

_HEADER = struct.Struct("!I")


def write_frame(sock: socket.socket, message: Any) -> None:
    data = pickle.dumps(message, protocol=5)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _read_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(sock: socket.socket) -> Any:
    """The next message, or ``None`` once the peer closed the connection."""
    header = _read_exact(sock, _HEADER.size)
    if header is None:
        return None
    data = _read_exact(sock, _HEADER.unpack(header)[0])
    if data is None:
        return None
    return pickle.loads(data)


class DriverLink:
    """A runner's connection to the driver: the ``send`` of its
    :class:`~d4p_core.backend.BatchingReporter`, and of the task's output
    relay (another thread: frames are written whole, one at a time)."""

    def __init__(
        self,
        driver: tuple[str, int],
        token: str,
        address: Address,
        alive_for: float | None = None,
    ) -> None:
        self._sock = socket.create_connection(driver, timeout=30)
        self._sock.settimeout(None)
        self._lock = threading.Lock()
        hello: tuple[Any, ...] = ("hello", token, address)
        write_frame(self._sock, hello if alive_for is None else (*hello, alive_for))

    def send(self, kind: Report, payload: Any) -> None:
        # The kind travels as its plain string: the driver's d4p need not
        # be the very same build as a remote worker's.
        with self._lock:
            write_frame(self._sock, (Report(kind).value, payload))

    def output(self, lines: str) -> None:
        """Lines the PE printed, for the driver's standard error."""
        with self._lock:
            write_frame(self._sock, (OUTPUT, lines))

    def close(self) -> None:
        self._sock.close()
