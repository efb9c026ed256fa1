"""The runners' channel back to the driver: length-prefixed pickled frames
over TCP.

A runner sends ``("hello", token, address)`` first, then ``("results",
[(pe, output, value), ...])`` batches, and finally ``("done", metrics)``,
``("failed", FailureInfo)`` or ``("crashed", text)``.
"""

from __future__ import annotations

import pickle
import socket
import struct
from typing import Any

from d4p_core.backend import Address

__all__ = ["Reporter", "read_frame", "write_frame"]

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


class Reporter:
    """Runner side: results in batches, then how the instance ended."""

    def __init__(self, driver: tuple[str, int], token: str, address: Address) -> None:
        self._sock = socket.create_connection(driver, timeout=30)
        self._sock.settimeout(None)
        self._results: list[tuple[str, str, Any]] = []
        write_frame(self._sock, ("hello", token, address))

    def result(self, pe_id: str, output: str, value: Any) -> None:
        self._results.append((pe_id, output, value))
        if len(self._results) >= 1024:
            self.flush()

    def flush(self) -> None:
        if self._results:
            batch, self._results = self._results, []
            write_frame(self._sock, ("results", batch))

    def send(self, kind: str, payload: Any) -> None:
        self.flush()
        write_frame(self._sock, (kind, payload))

    def close(self) -> None:
        self._sock.close()
