"""Storm's multilang protocol, JSON serializer: the subprocess side.

Each message is a JSON text followed by a line ``end``. Storm writes the
handshake (``pidDir``, ``conf``, ``context``), then commands (spouts) or
tuples and heartbeats (bolts); the subprocess writes ``emit``, ``ack``,
``sync``, ``log`` and ``error`` messages. Writes are buffered and sent on
:meth:`Channel.flush`, which the runner calls before it waits for input.
Writing is thread-safe (without a driver, a task's output relay logs to
Storm from its own thread); reading is the runner's alone.
"""

from __future__ import annotations

import json
import os
import select
import threading
import time
from typing import Any

__all__ = ["Channel", "StormWentAway"]

_END = b"\nend\n"


class StormWentAway(Exception):
    """Storm closed the subprocess's input (the topology was killed)."""


class Channel:
    """Reads Storm's messages from ``in_fd`` and writes ours to ``out_fd``."""

    def __init__(self, in_fd: int, out_fd: int) -> None:
        self._in = in_fd
        self._out = out_fd
        self._buffer = bytearray()
        self._scan_from = 0
        self._pending: list[bytes] = []
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()

    # -- reading --------------------------------------------------------------
    def ready(self) -> bool:
        """True if a message can be read without waiting."""
        if self._buffer.find(_END, self._scan_from) >= 0:
            return True
        readable, _, _ = select.select([self._in], [], [], 0)
        return bool(readable)

    def read(self) -> Any:
        """The next message (waits for it)."""
        while True:
            end = self._buffer.find(_END, self._scan_from)
            if end >= 0:
                text = bytes(self._buffer[:end])
                del self._buffer[: end + len(_END)]
                self._scan_from = 0
                return json.loads(text)
            self._scan_from = max(0, len(self._buffer) - len(_END) + 1)
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise StormWentAway
            self._buffer += chunk

    # -- writing --------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + _END
        with self._lock:
            self._pending.append(data)
            # Full, or late: Storm counts any message as a heartbeat (a source
            # emitting slowly from one long ``next`` must not look dead).
            due = len(self._pending) >= 256 or time.monotonic() - self._last_flush > 1.0
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            self._last_flush = time.monotonic()
            if not self._pending:
                return
            data = b"".join(self._pending)
            self._pending.clear()
            self._write(data)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._out, view)
            except BrokenPipeError:
                raise StormWentAway from None
            view = view[written:]

    # -- messages -------------------------------------------------------------
    def emit(self, stream: str, values: list[Any]) -> None:
        # Unanchored, and no task ids asked back: d4p needs neither.
        self.send({"command": "emit", "stream": stream, "tuple": values, "need_task_ids": False})

    def sync(self) -> None:
        self.send({"command": "sync"})

    def ack(self, tuple_id: Any) -> None:
        self.send({"command": "ack", "id": tuple_id})

    def log(self, text: str, level: int = 2) -> None:
        self.send({"command": "log", "msg": text, "level": level})
