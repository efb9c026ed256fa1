"""What a worker process runs: join the driver, host the instances it is
assigned with core's :class:`~d4p_core.Executor`, move batches over ZeroMQ.

Local workers (started by the driver) and remote workers (``python -m
d4p_zmq.worker --connect tcp://driver:port`` on another machine) run the same
code; a local worker names the slot the driver started it for.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import zmq

from d4p_core import D4pError
from d4p_core.backend import (
    Aborted,
    Address,
    Batch,
    BatchingReporter,
    Executor,
    GraphPayload,
    PEFailure,
    instantiate,
)

from ._auth import Curve
from ._ipcdir import DRIVER_EXIT_WAIT, IpcDir
from ._protocol import HANDSHAKE_FAILURES, Assignment, dumps, heartbeat, monitor_events
from ._signals import ignore_interrupts
from ._zap import Gatekeeper

__all__ = ["JoinError", "local_worker", "serve"]


class JoinError(D4pError):
    """This worker could not join a run (unreachable, rejected, timed out)."""

    exit_code = 7


class _Control:
    """The worker's connection to the driver, and every blocking wait.

    Each wait also watches the driver: an ``abort`` or a lost connection
    raises :class:`Aborted`, so no worker outlives its run.
    """

    def __init__(
        self,
        context: zmq.Context[Any],
        endpoint: str,
        curve: Curve | None,
        on_driver_lost: Callable[[], None] | None,
    ) -> None:
        self.endpoint = endpoint
        self.curve = curve
        self.on_driver_lost = on_driver_lost
        self.socket = context.socket(zmq.DEALER)
        if curve is not None:
            curve.join(self.socket)
            heartbeat(self.socket)
        self.monitor = self.socket.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | HANDSHAKE_FAILURES
        )
        self.socket.connect(endpoint)
        self.joined = False
        self._pollers: dict[tuple[zmq.Socket[bytes] | None, int], zmq.Poller] = {}

    def close(self, linger: int) -> None:
        with contextlib.suppress(zmq.ZMQError):
            self.socket.disable_monitor()
        self.monitor.close(linger=0)
        self.socket.close(linger=linger)

    def _watch(self) -> None:
        for event in monitor_events(self.monitor):
            if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.joined = True
            elif event & HANDSHAKE_FAILURES or (
                event == zmq.EVENT_DISCONNECTED and not self.joined
            ):
                refused = event == zmq.EVENT_HANDSHAKE_FAILED_AUTH
                raise JoinError(
                    self.curve.rejection(self.endpoint, refused)
                    if self.curve is not None
                    else f"the driver at {self.endpoint} closed the connection before the run"
                )
            elif event == zmq.EVENT_DISCONNECTED:
                if self.on_driver_lost is not None:
                    self.on_driver_lost()
                raise Aborted  # the driver is gone

    def wait(self, other: zmq.Socket[bytes] | None, flags: int, timeout: float | None) -> bool:
        """Block until ``other`` is ready for ``flags`` (True) or the timeout
        passes (False). Meanwhile an abort or a lost driver raises
        :class:`Aborted`. With ``other`` None, return on any control event."""
        key = (other, flags)
        poller = self._pollers.get(key)
        if poller is None:  # one poller per kind of wait, reused (hot path)
            poller = self._pollers[key] = zmq.Poller()
            poller.register(self.socket, zmq.POLLIN | (flags if other is self.socket else 0))
            poller.register(self.monitor, zmq.POLLIN)
            if other is not None and other is not self.socket:
                poller.register(other, flags)
        ready = dict(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))
        if self.monitor in ready:
            self._watch()
        if other is not None and ready.get(self.socket, 0) & zmq.POLLIN:
            kind, _ = self.receive()
            raise RuntimeError(f"unexpected {kind!r} message from the driver")
        return bool(other is not None and ready.get(other, 0) & flags)

    def receive(self) -> tuple[str, list[bytes]]:
        frames = self.socket.recv_multipart()
        kind = frames[0].decode()
        if kind == "abort":
            raise Aborted
        if kind == "reject":
            raise JoinError(f"the driver refused this worker: {pickle.loads(frames[1])}")
        return kind, frames[1:]

    def expect(self, kind: str, timeout: float | None) -> list[bytes]:
        """Wait for the driver's next message, which must be ``kind``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.socket.poll(0):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise JoinError(f"no answer from a driver at {self.endpoint} within {timeout:g} s")
            self.wait(None, 0, remaining)
        got, frames = self.receive()
        if got != kind:
            raise RuntimeError(f"expected {kind!r} from the driver, got {got!r}")
        return frames

    def send(self, kind: str, payload: Any) -> None:
        message = [kind.encode(), dumps(payload)]
        while True:
            try:
                self.socket.send_multipart(message, zmq.NOBLOCK)
                return
            except zmq.Again:
                self.wait(self.socket, zmq.POLLOUT, None)


class _PushTransport:
    """One PUSH socket per destination worker, connected on first use; a
    full pipe (high-water mark) makes the sender wait: back-pressure."""

    def __init__(
        self,
        context: zmq.Context[Any],
        control: _Control,
        assignment: Assignment,
        endpoints: dict[int, tuple[str, bytes | None]],
        curve: Curve | None,
    ) -> None:
        self._context = context
        self._control = control
        self._owner = assignment.owner
        self._hwm = assignment.hwm
        self._endpoints = endpoints
        self._curve = curve
        self.sockets: dict[int, zmq.Socket[bytes]] = {}

    def _socket(self, worker: int) -> zmq.Socket[bytes]:
        sock = self.sockets.get(worker)
        if sock is None:
            sock = self._context.socket(zmq.PUSH)
            sock.sndhwm = self._hwm
            endpoint, server_key = self._endpoints[worker]
            if self._curve is not None:
                self._curve.join(sock, server_key)
                heartbeat(sock)
            sock.connect(endpoint)
            self.sockets[worker] = sock
        return sock

    def _put(self, dst: Address, frame: bytes) -> None:
        sock = self._socket(self._owner[dst])
        while True:
            try:
                sock.send(frame, zmq.NOBLOCK, copy=len(frame) < 65536)
                return
            except zmq.Again:
                self._control.wait(sock, zmq.POLLOUT, None)

    def send(self, dst: Address, batch: Batch) -> None:
        self._put(dst, dumps((dst, batch)))

    def send_eos(self, dst: Address) -> None:
        self._put(dst, dumps((dst, None)))

    def close(self, linger: int) -> None:
        for sock in self.sockets.values():
            sock.close(linger=linger)


def _advertised_host(driver: str) -> str:
    """The address of this machine's interface that reaches the driver."""
    parts = urlsplit(driver)
    host = parts.hostname or "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, parts.port or 9))
        address: str = probe.getsockname()[0]
    return address


def _bind(
    pull: zmq.Socket[bytes],
    assignment: Assignment,
    driver: str,
    bind_host: str,
    advertise: str | None,
) -> str:
    if assignment.bind is not None:
        pull.bind(assignment.bind)
        endpoint = pull.getsockopt_string(zmq.LAST_ENDPOINT)
        if endpoint.startswith("tcp://0.0.0.0:"):
            host = advertise or _advertised_host(driver)
            endpoint = f"tcp://{host}:{endpoint.rsplit(':', 1)[1]}"
        return endpoint
    pull.bind(f"tcp://{bind_host}:0")
    port = pull.getsockopt_string(zmq.LAST_ENDPOINT).rsplit(":", 1)[1]
    return f"tcp://{advertise or _advertised_host(driver)}:{port}"


def serve(
    connect: str,
    *,
    curve: Curve | None,
    slot: int | None = None,
    bind_host: str = "0.0.0.0",
    advertise: str | None = None,
    timeout: float | None = 60.0,
    on_driver_lost: Callable[[], None] | None = None,
) -> int:
    """Join the driver at ``connect``, run the assigned instances, report;
    call ``on_driver_lost`` if the connection to the driver breaks.

    Returns the process exit status: 0 when the run ended normally (or the
    driver aborted it because of another worker), 2 when a PE hosted here
    failed (reported to the driver), 1 on a crash.
    """
    if not connect.startswith("tcp://"):
        curve = None  # ipc: the directory's permissions guard the sockets
    elif curve is None:
        raise JoinError(
            "tcp runs are authenticated: give --certificates DIR or --auth-key, "
            "or set D4P_ZMQ_AUTH_KEY"
        )
    context: zmq.Context[Any] = zmq.Context()
    control = _Control(context, connect, curve, on_driver_lost)
    gatekeeper: Gatekeeper | None = None
    pull: zmq.Socket[bytes] | None = None
    transport: _PushTransport | None = None
    reporter = BatchingReporter(control.send)  # reports travel on the control socket
    status = 1
    linger = 0
    try:
        control.send("hello", {"slot": slot, "pid": os.getpid(), "host": socket.gethostname()})
        payload_frame, assignment_frame = control.expect("assign", timeout)
        payload: GraphPayload = pickle.loads(payload_frame)
        pes = payload.load()
        assignment: Assignment = pickle.loads(assignment_frame)
        if curve is not None and assignment.authorized is not None:
            gatekeeper = Gatekeeper(context, assignment.authorized)
        pull = context.socket(zmq.PULL)
        pull.rcvhwm = assignment.hwm
        pull.linger = 0
        if curve is not None:
            curve.serve(pull)
        endpoint = _bind(pull, assignment, connect, bind_host, advertise)
        control.send("bound", (endpoint, curve.public if curve is not None else None))
        (endpoints_frame,) = control.expect("go", None)
        transport = _PushTransport(
            context, control, assignment, pickle.loads(endpoints_frame), curve
        )
        executor = Executor(
            assignment.plan,
            instantiate(pes, assignment.hosted),
            transport=transport,
            on_result=reporter.result,
            batch_size=assignment.batch_size,
            on_progress=reporter.progress if assignment.report_progress else None,
        )
        inbox = pull

        def next_message(before_wait: Callable[[], None]) -> tuple[Address, Any]:
            try:
                frame = inbox.recv(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                before_wait()
                reporter.flush()
                while not control.wait(inbox, zmq.POLLIN, None):
                    pass
                frame = inbox.recv(copy=True)
            message: tuple[Address, Any] = pickle.loads(frame)
            return message

        executor.start()
        executor.feed(assignment.provided)  # only this worker's sources' inputs
        executor.serve(next_message)
        reporter.done(executor.instance_metrics())
        # Stay until every worker is done: then everything sent from here
        # was received, and the sockets can close without lingering.
        control.expect("bye", None)
        status = 0
    except PEFailure as failure:
        status = 2
        linger = 5000  # the report still reaches the driver
        with contextlib.suppress(Exception, Aborted):  # the driver may be gone
            reporter.failed(failure.info)
    except Aborted:
        status = 0
    except JoinError:
        raise
    except BaseException as exc:
        linger = 5000
        with contextlib.suppress(Aborted):
            reporter.crashed(exc)
        if not isinstance(exc, Exception):
            raise
    finally:
        if transport is not None:
            transport.close(0)
        if pull is not None:
            pull.close(linger=0)
        control.close(linger)
        if gatekeeper is not None:
            gatekeeper.stop()
        context.term()
    return status


def local_worker(channel: Any, slot: int, ipc: IpcDir | None) -> None:
    """Entry point of a worker process the driver starts on this machine.

    The driver starts its workers before it creates any ZeroMQ context
    (forking a process with ZeroMQ's threads running is unsafe), then sends
    the endpoint and CURVE keys down ``channel``; a closed channel means the
    run ended before it started. It ignores Ctrl-C: the driver stops the
    run. Core's ``LocalProcesses`` started it tied to the driver: it ends
    with the driver even while a PE never returns, and then removes the
    run's ipc directory (:mod:`d4p_zmq._ipcdir`; it says "ready" once it
    would).
    """
    ignore_interrupts()
    if ipc is not None:
        ipc.remove_when_orphaned()
    status = 0
    try:
        try:
            channel.send("ready")
            endpoint, curve = channel.recv()
        except (EOFError, OSError):
            return
        finally:
            channel.close()
        status = serve(
            endpoint,
            curve=curve,
            slot=slot,
            timeout=None,
            on_driver_lost=(
                None if ipc is None else lambda: ipc.remove_if_orphaned(DRIVER_EXIT_WAIT)
            ),
        )
    except JoinError as error:
        sys.stderr.write(f"d4p-zmq worker: error: {error}\n")
        status = error.exit_code
    finally:
        if ipc is not None:
            ipc.remove_if_orphaned()
    sys.exit(status)
