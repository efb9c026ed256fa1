"""What the driver and the workers of a ``zmq_multi`` run say to each other.

Control messages travel between each worker's DEALER and the driver's
ROUTER as ``[kind, pickled payload]``:

* worker → driver: ``hello`` (slot or None, pid, host), ``bound`` (the
  endpoint of the worker's PULL socket and its CURVE public key), then
  core's reports
  (:class:`~d4p_core.backend.Report`: ``results``, ``progress``, ``done``,
  ``failed``, ``crashed``), which the driver hands to core's ``ReportSink``;
* driver → worker: ``assign`` (two frames: the :class:`~d4p_core.GraphPayload`
  and an :class:`Assignment`), ``go`` (every worker's endpoint and public
  key: what a sender needs to connect to it), ``reject``
  (a reason) and ``abort``.

Data travels from a PUSH socket per (sender, destination worker) to the
destination's PULL socket, one pickled ``(address, batch)`` per message
(``batch`` None: an end-of-stream marker); a single PUSH → PULL pipe keeps
batches and end-of-stream in sending order.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from d4p_core.backend import Address, InputSpec, Plan

__all__ = [
    "HANDSHAKE_FAILURES",
    "HEARTBEAT_IVL_MS",
    "HEARTBEAT_TIMEOUT_MS",
    "Assignment",
    "dumps",
    "heartbeat",
    "monitor_events",
]

HEARTBEAT_IVL_MS = 1000
HEARTBEAT_TIMEOUT_MS = 5000
"""A tcp peer that answers no heartbeat for this long is disconnected (a host
that vanished without closing its connections)."""

HANDSHAKE_FAILURES = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)


@dataclass(frozen=True)
class Assignment:
    """What a worker hosts and how it binds (sent with the graph payload)."""

    slot: int
    hosted: tuple[Address, ...]
    plan: Plan
    owner: dict[Address, int]
    provided: dict[str, InputSpec]
    batch_size: int
    hwm: int
    bind: str | None
    """Endpoint to bind the PULL socket to; None: the worker chooses (remote)."""
    report_progress: bool
    authorized: frozenset[bytes] | None = None
    """Per-host certificates: the public keys that may connect to the
    worker's PULL socket (the driver's and every authorized worker's)."""


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=5)


def heartbeat(socket: zmq.Socket[bytes]) -> None:
    """Detect tcp peers that disappeared without closing their connection."""
    socket.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
    socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)


def monitor_events(monitor: zmq.Socket[bytes]) -> list[int]:
    """The events waiting on a monitor socket (never blocks)."""
    events: list[int] = []
    while monitor.poll(0):
        message = recv_monitor_message(monitor)
        events.append(int(message["event"]))
    return events
