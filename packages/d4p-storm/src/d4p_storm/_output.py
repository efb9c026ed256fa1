"""What a task's PE prints (``print``, ``sys.stderr``, ``self.log``), relayed
to whoever runs the topology.

Storm owns a task's standard output (the multilang protocol, moved to other
descriptors by the runner) and reads its standard error only when the task
fails, so a PE's output would be lost, or block the task once the pipe is
full. Every other mapping shows it on the driver's standard error, so the
task's descriptors 1 and 2 become one pipe that a thread reads: complete
lines go, a chunk at a time, to ``deliver`` (the driver link, or Storm's log
when nobody collects), each prefixed with the PE instance as ``self.log``
prefixes its own lines (``PE (rank i): ``; a line that already names it is
left as it is).

Before the task's last report the runner calls :meth:`OutputRelay.drain`, so
everything printed before it reaches the driver first (reports and output
travel on the same connection, in order).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import threading
from collections.abc import Callable

__all__ = ["DRAIN_TIMEOUT", "OutputRelay", "instance_prefix"]

DRAIN_TIMEOUT = 30.0
"""Seconds :meth:`OutputRelay.drain` waits for the relay to catch up (it is
only slower when the driver reads slowly)."""

Deliver = Callable[[str], None]
"""Takes one or more complete lines (joined by newlines, no final one)."""


def instance_prefix(pe_id: str, index: int) -> str:
    """The prefix of a PE instance's lines: the one ``self.log`` writes."""
    return f"{pe_id} (rank {index}): "


class OutputRelay:
    """Makes descriptors 1 and 2 (and Python's ``sys.stdout``/``sys.stderr``)
    one pipe, and standard input ``/dev/null``; :meth:`start` relays it."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._read_fd, write_fd = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        os.close(null)
        self._write_fd = write_fd  # the drain's own end (a PE may close 1 or 2)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        self._sentinel = b"\0d4p-drain-" + secrets.token_hex(8).encode() + b"\0"
        self._drained = threading.Event()
        self._deliver: Deliver | None = None
        self._thread: threading.Thread | None = None

    def start(self, deliver: Deliver) -> None:
        """Relay from now on (what was written before waits in the pipe)."""
        self._deliver = deliver
        self._thread = threading.Thread(target=self._pump, name="d4p-storm-output", daemon=True)
        self._thread.start()

    def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Return once everything written so far was delivered (a line
        without its newline too)."""
        if self._thread is None or not self._thread.is_alive():
            return
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a PE may have replaced or closed it
                stream.flush()
        self._drained.clear()
        os.write(self._write_fd, self._sentinel + b"\n")
        self._drained.wait(timeout)

    def _pump(self) -> None:
        pending = b""
        while True:
            chunk = os.read(self._read_fd, 1 << 16)
            if not chunk:
                return
            pending += chunk
            *complete, pending = pending.split(b"\n")
            lines: list[str] = []
            for raw in complete:
                if raw.endswith(self._sentinel):
                    raw = raw[: -len(self._sentinel)]
                    if raw:
                        lines.append(self._line(raw))
                    self._send(lines)
                    lines = []
                    self._drained.set()
                else:
                    lines.append(self._line(raw))
            self._send(lines)

    def _line(self, raw: bytes) -> str:
        text = raw.decode("utf-8", "replace")
        return text if self._prefix in text else self._prefix + text

    def _send(self, lines: list[str]) -> None:
        if not lines or self._deliver is None:
            return
        try:
            self._deliver("\n".join(lines))
        except Exception:  # noqa: BLE001 - the run is over (its driver or Storm gone):
            self._deliver = None  # keep reading, so that the PE never blocks on a full pipe
