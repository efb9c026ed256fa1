"""The driver of a ``zmq_multi`` run: start or await the workers, hand out
the placed partitions, collect results, supervise, clean up.

The driver binds one ROUTER socket. Every worker (a local process the driver
starts, or a remote ``python -m d4p_zmq.worker``) connects a DEALER to it,
says ``hello``, gets its partition, binds its PULL socket and reports the
endpoint; once every worker is bound the driver sends ``go`` with all
endpoints. A run ends exactly when every worker reported ``done`` (core's
engine decides that from the end-of-stream counts); then ``bye`` lets the
workers close. A failure, a dead local process or a lost remote worker
aborts every worker and raises :class:`~d4p_core.RunError`.

Supervision is core's (:mod:`d4p_core.backend`): reports go to a
:class:`ReportSink`, local workers are started, checked and stopped by
:class:`LocalProcesses`. What is ZeroMQ's stays here: the handshake, the
endpoints, and noticing a remote worker whose connection broke.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import pickle
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import zmq

from d4p_core import D4pError, RunError, ServiceUnavailableError
from d4p_core.backend import (
    Address,
    GraphPayload,
    LocalProcesses,
    PlacedRun,
    Report,
    ReportSink,
    RunOutcome,
)

from ._auth import AUTH_KEY_ENV, Curve, new_auth_key, resolve_auth_key
from ._certificates import load_driver
from ._ipcdir import IpcDir
from ._node import local_worker
from ._protocol import HANDSHAKE_FAILURES, Assignment, dumps, heartbeat, monitor_events
from ._signals import interrupts_held
from ._zap import Gatekeeper

if TYPE_CHECKING:
    from .mapping import ZmqOptions

__all__ = ["Driver"]

_POLL_MS = 200  # between checks of local processes (failure detection only)
_LOST_GRACE = 1.0  # seconds a disconnected remote worker gets for its "done"
_LOST_REMOTE = "lost its connection (killed, or its host is unreachable)"


@dataclass
class _Slot:
    """One partition and the worker hosting it. Remote workers take the
    last partitions, so local slot ``i`` is local process ``i``."""

    index: int
    hosted: tuple[Address, ...]
    remote: bool
    channel: multiprocessing.connection.Connection | None = None
    identity: bytes | None = None
    host: str = ""
    pid: int | None = None
    endpoint: str | None = None
    public_key: bytes | None = None
    watch: zmq.Socket[bytes] | None = None
    watch_monitor: zmq.Socket[bytes] | None = None
    lost_at: float | None = None
    joined_at: float | None = None  # remote: its hello was admitted
    done_at: float | None = None  # remote: it reported done


class Driver:
    """Runs one placed run: ``sink`` holds its outputs and metrics after
    :meth:`run`; ``endpoint``, ``rejected`` and ``workers`` describe it."""

    def __init__(self, placed: PlacedRun, options: ZmqOptions) -> None:
        self.placed = placed
        self.options = options
        if options.remote_workers > len(placed.partitions):
            raise D4pError(
                f"{options.remote_workers} remote workers were asked for but the placement "
                f"has only {len(placed.partitions)} partitions; use -n {options.remote_workers} "
                "or more"
            )
        self.transport = options.transport or (
            "tcp" if options.remote_workers or options.bind or options.certificates else "ipc"
        )
        self.curve: Curve | None = None
        self.generated_key: str | None = None  # to print for remote workers
        if self.transport == "tcp" and options.certificates:
            self.curve = load_driver(options.certificates)
        elif self.transport == "tcp":
            key = resolve_auth_key(options.auth_key)
            if key is None:
                key = self.generated_key = new_auth_key()
            self.curve = Curve.from_key(key)
        # Remote workers may run anywhere: the graph travels as for spawn.
        self.payload = GraphPayload.create(placed.flat.by_id(), "zmq_multi")
        first_remote = len(placed.partitions) - options.remote_workers
        self.slots = [
            _Slot(i, block, remote=i >= first_remote) for i, block in enumerate(placed.partitions)
        ]
        self.sink = ReportSink(self._describe)
        self.context = multiprocessing.get_context(options.start_method)
        self.local = LocalProcesses(self.context)
        self.rejected = 0
        self.endpoint = ""
        self.workers: list[dict[str, Any]] = []

    def _describe(self, index: int) -> str:
        slot = self.slots[index]
        where = f"remote worker {index} on {slot.host}" if slot.remote else f"worker {index}"
        return f"{where} ({self.placed.describe_partition(index)})"

    def run(self) -> None:
        ipc = IpcDir.new() if self.transport == "ipc" else None
        finished = False
        try:
            # Local workers start before any ZeroMQ context exists here
            # (forking a process that runs ZeroMQ's I/O threads is unsafe),
            # with Ctrl-C held back until they are started (_signals).
            # SIGTERM ends the run through this clean-up (core's template).
            with interrupts_held():
                self._start_local(ipc)
            self._drive(ipc)
            finished = True
        finally:
            self._stop(graceful=finished)  # done already, unless _drive never began
            if ipc is not None:
                ipc.remove()

    def _drive(self, ipc: IpcDir | None) -> None:
        finished = False
        curve = self.curve
        context: zmq.Context[Any] = zmq.Context()
        gatekeeper: Gatekeeper | None = None
        router = context.socket(zmq.ROUTER)
        router.linger = 0
        router.router_mandatory = True
        monitor: zmq.Socket[bytes] | None = None
        try:
            self._await_ready()
            if ipc is not None:
                ipc.make()
            if curve is not None:
                if curve.authorized is not None:
                    gatekeeper = Gatekeeper(context, curve.authorized)
                curve.serve(router)
                heartbeat(router)
                monitor = router.get_monitor_socket(HANDSHAKE_FAILURES)
            self.endpoint = self._bind(router, ipc)
            for slot in self.slots:
                if slot.channel is not None:
                    slot.channel.send((self.endpoint, curve))
                    slot.channel.close()
                    slot.channel = None
            if self.options.remote_workers:
                self._announce()
            self._loop(context, router, monitor, ipc, curve)
            finished = True
        finally:
            if not finished:
                self._abort(router)
            self._stop(graceful=finished)
            for slot in self.slots:
                for sock in (slot.watch, slot.watch_monitor):
                    if sock is not None:
                        sock.close(linger=0)
            if monitor is not None:
                with contextlib.suppress(zmq.ZMQError):
                    router.disable_monitor()
                monitor.close(linger=0)
            router.close(linger=1000 if finished else 0)  # "bye" goes out
            if gatekeeper is not None:
                gatekeeper.stop()
            context.term()

    def outcome(self) -> RunOutcome:
        """What the run gives back once :meth:`run` returned."""
        extra = {
            "transport": self.transport,
            "endpoint": self.endpoint,
            "rejected_connections": self.rejected,
            "workers": self.workers,
        }
        return RunOutcome(
            self.sink.outputs, self.sink.metrics, extra, process_seconds=self.process_seconds()
        )

    def process_seconds(self) -> float:
        """``RunResult.process_seconds``: every local worker process from its
        start to its exit (core's :class:`LocalProcesses`), and every remote
        worker from joining the run (its ``hello`` admitted) to its ``done``:
        its process is on another machine, this driver sees only that span."""
        remote = sum(
            slot.done_at - slot.joined_at
            for slot in self.slots
            if slot.remote and slot.joined_at is not None and slot.done_at is not None
        )
        return self.local.process_seconds() + remote

    # -- start-up ---------------------------------------------------------------
    def _bind(self, router: zmq.Socket[bytes], ipc: IpcDir | None) -> str:
        options = self.options
        if ipc is not None:
            endpoint = ipc.endpoint("driver")
            router.bind(endpoint)
            return endpoint
        bind = options.bind or (
            "tcp://0.0.0.0:0" if options.remote_workers else "tcp://127.0.0.1:0"
        )
        try:
            router.bind(bind)
        except zmq.ZMQError as exc:
            raise ServiceUnavailableError(f"cannot listen on {bind}: {exc}") from exc
        bound = router.getsockopt_string(zmq.LAST_ENDPOINT)
        host, port = bound[len("tcp://") :].rsplit(":", 1)
        if host in ("0.0.0.0", "[::]", "::"):
            host = options.advertise or _this_host()
        return f"tcp://{host}:{port}"

    def _start_local(self, ipc: IpcDir | None) -> None:
        """Start a process per local slot, told where the ipc directory will
        be; it says when it is ready to remove it should the driver die,
        then waits on its pipe for the driver's endpoint and keys (a closed
        pipe: the run ended first)."""
        for slot in self.slots:
            if slot.remote:
                continue
            theirs, ours = self.context.Pipe()
            slot.channel = ours
            self.local.start(
                local_worker, theirs, slot.index, ipc, name=f"d4p-zmq-worker-{slot.index}"
            )
            theirs.close()

    def _await_ready(self) -> None:
        """Wait for every local worker's "ready". The ipc directory is made
        only then, so a driver killed at any moment leaves nothing behind:
        before, there is no directory; after, every worker knows it and
        removes it when the driver is gone."""
        waiting = {slot.channel: slot.index for slot in self.slots if slot.channel is not None}
        ready: set[int] = set()
        deadline = time.monotonic() + self.options.worker_timeout
        while len(ready) < len(self.local.processes):
            for channel in multiprocessing.connection.wait(list(waiting), _POLL_MS / 1000):
                assert isinstance(channel, multiprocessing.connection.Connection)
                index = waiting.pop(channel)
                with contextlib.suppress(EOFError, OSError):  # it ended: lost() says how
                    channel.recv()
                    ready.add(index)
            lost = self.local.lost(ready)
            if lost is not None:
                raise self.sink.lost(*lost)
            if time.monotonic() > deadline:
                late = ", ".join(self._describe(i) for i in sorted(waiting.values()))
                raise ServiceUnavailableError(
                    f"{late} did not start within {self.options.worker_timeout:g} s"
                )

    def _announce(self) -> None:
        options = self.options
        key = f"{AUTH_KEY_ENV}={self.generated_key} " if self.generated_key else ""
        arguments, where = f"--connect {self.endpoint}", ""
        if self.curve is not None and self.curve.per_host:
            arguments += " --certificates DIR"
            where = "where DIR is that host's directory made by 'python -m d4p_zmq keys'\n"
        sys.stderr.write(
            f"d4p zmq_multi: waiting {options.worker_timeout:g} s for "
            f"{options.remote_workers} remote worker(s); on each machine run:\n"
            f"  {key}d4p worker zmq {arguments}\n"
            f"(or, without d4p-cli: {key}python -m d4p_zmq.worker {arguments})\n{where}"
        )
        sys.stderr.flush()
        if options.announce is not None:
            options.announce(self.endpoint)

    def _assignment(self, slot: _Slot, ipc: IpcDir | None) -> Assignment:
        options = self.options
        if ipc is not None:
            bind: str | None = ipc.endpoint(f"w{slot.index}")
        elif slot.remote:
            bind = None
        elif options.remote_workers:
            bind = f"tcp://{_host_of(options.bind) or '0.0.0.0'}:0"
        else:
            bind = "tcp://127.0.0.1:0"
        return Assignment(
            slot=slot.index,
            hosted=slot.hosted,
            plan=self.placed.plan,
            owner=self.placed.owner,
            provided=self.placed.provided_for(slot.index),
            batch_size=options.batch_size,
            hwm=options.queue_size,
            bind=bind,
            report_progress=self.sink.wants_progress,
            authorized=self.curve.authorized if self.curve is not None else None,
        )

    # -- the run ------------------------------------------------------------------
    def _loop(
        self,
        context: zmq.Context[Any],
        router: zmq.Socket[bytes],
        monitor: zmq.Socket[bytes] | None,
        ipc: IpcDir | None,
        curve: Curve | None,
    ) -> None:
        slots, sink = self.slots, self.sink
        by_identity: dict[bytes, _Slot] = {}
        payload_frame = dumps(self.payload)
        deadline = time.monotonic() + self.options.worker_timeout
        started = False
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        if monitor is not None:
            poller.register(monitor, zmq.POLLIN)
        while len(sink.finished) < len(slots):
            ready = dict(poller.poll(_POLL_MS))
            if monitor is not None and monitor in ready:
                self._count_rejections(monitor_events(monitor))
            while router.poll(0):
                identity, kind_frame, body = router.recv_multipart()
                kind = kind_frame.decode()
                slot = by_identity.get(identity)
                if kind == "hello":
                    slot = self._admit(router, identity, pickle.loads(body))
                    if slot is not None:
                        by_identity[identity] = slot
                        assignment = dumps(self._assignment(slot, ipc))
                        self._tell(router, slot, [b"assign", payload_frame, assignment])
                elif slot is None:
                    continue  # not a worker of this run
                elif kind == "bound":
                    slot.endpoint, slot.public_key = pickle.loads(body)
                    if slot.remote:
                        self._watch(context, slot, curve, poller)
                    if all(s.endpoint is not None for s in slots):
                        endpoints = dumps({s.index: (s.endpoint, s.public_key) for s in slots})
                        for other in slots:
                            self._tell(router, other, [b"go", endpoints])
                        started = True
                elif sink.handle(kind, slot.index, pickle.loads(body)) is Report.DONE:
                    slot.done_at = time.monotonic()
            lost = self.local.lost(sink.finished)
            if lost is not None:
                raise sink.lost(*lost)
            self._check_remote()
            if not started and time.monotonic() > deadline:
                self._join_timeout()
        if monitor is not None:
            self._count_rejections(monitor_events(monitor))
        for slot in slots:
            self.workers.append(
                {"slot": slot.index, "remote": slot.remote, "host": slot.host, "pid": slot.pid}
            )
            if slot.identity is not None:
                with contextlib.suppress(zmq.ZMQError):
                    router.send_multipart([slot.identity, b"bye", b""])

    def _admit(
        self, router: zmq.Socket[bytes], identity: bytes, hello: dict[str, Any]
    ) -> _Slot | None:
        wanted = hello.get("slot")
        if wanted is None:
            free = [s for s in self.slots if s.remote and s.identity is None]
        else:
            free = [
                s for s in self.slots if s.index == wanted and not s.remote and s.identity is None
            ]
        if not free:
            reason = "this run has all the workers it needs"
            with contextlib.suppress(zmq.ZMQError):
                router.send_multipart([identity, b"reject", dumps(reason)])
            return None
        slot = free[0]
        slot.identity = identity
        slot.joined_at = time.monotonic()
        slot.host = str(hello.get("host", "?"))
        slot.pid = hello.get("pid")
        return slot

    def _watch(
        self, context: zmq.Context[Any], slot: _Slot, curve: Curve | None, poller: zmq.Poller
    ) -> None:
        """Connect to a remote worker's data endpoint (sending nothing): its
        connection breaking tells that the worker is gone."""
        sock = context.socket(zmq.PUSH)
        sock.linger = 0
        if curve is not None:
            curve.join(sock, slot.public_key)
            heartbeat(sock)
        slot.watch_monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        assert slot.endpoint is not None
        sock.connect(slot.endpoint)
        slot.watch = sock
        poller.register(slot.watch_monitor, zmq.POLLIN)

    def _count_rejections(self, events: list[int]) -> None:
        failed = sum(1 for event in events if event & HANDSHAKE_FAILURES)
        if failed:
            self.rejected += failed
            sys.stderr.write(
                f"d4p zmq_multi: rejected {failed} connection(s) to {self.endpoint} that did "
                f"not authenticate {self._credential}\n"
            )
            sys.stderr.flush()

    @property
    def _credential(self) -> str:
        if self.curve is not None and self.curve.per_host:
            return "with a certificate this driver authorized"
        return "with the run's auth key"

    def _check_remote(self) -> None:
        """Raise for a remote worker whose connection broke and that did not
        report ``done`` within :data:`_LOST_GRACE` seconds after."""
        now = time.monotonic()
        for slot in self.slots:
            if slot.watch_monitor is None or slot.index in self.sink.finished:
                continue
            if zmq.EVENT_DISCONNECTED in monitor_events(slot.watch_monitor):
                slot.lost_at = slot.lost_at or now
            if slot.lost_at is not None and now - slot.lost_at > _LOST_GRACE:
                raise self.sink.lost(slot.index, _LOST_REMOTE)

    def _join_timeout(self) -> None:
        options = self.options
        absent = [s for s in self.slots if s.remote and s.identity is None]
        if absent:
            joined = options.remote_workers - len(absent)
            rejected = (
                f"; {self.rejected} connection(s) were rejected: they did not authenticate "
                f"{self._credential}"
                if self.rejected
                else ""
            )
            raise ServiceUnavailableError(
                f"only {joined} of {options.remote_workers} remote worker(s) joined "
                f"{self.endpoint} within {options.worker_timeout:g} s{rejected}; start "
                f"them with 'python -m d4p_zmq.worker --connect {self.endpoint}'"
            )
        unready = ", ".join(self._describe(s.index) for s in self.slots if s.endpoint is None)
        raise ServiceUnavailableError(
            f"{unready} did not get ready within {options.worker_timeout:g} s"
        )

    def _tell(self, router: zmq.Socket[bytes], slot: _Slot, frames: list[bytes]) -> None:
        assert slot.identity is not None
        try:
            router.send_multipart([slot.identity, *frames])
        except zmq.ZMQError as exc:  # router_mandatory: the peer is gone
            raise RunError(
                f"{self._describe(slot.index)} disconnected before the run started"
            ) from exc

    # -- ending -----------------------------------------------------------------
    def _abort(self, router: zmq.Socket[bytes]) -> None:
        for slot in self.slots:
            if slot.identity is not None:
                with contextlib.suppress(zmq.ZMQError):
                    router.send_multipart([slot.identity, b"abort", b""], zmq.NOBLOCK)

    def _stop(self, graceful: bool) -> None:
        for slot in self.slots:
            if slot.channel is not None:
                slot.channel.close()  # a worker still waiting for it exits
                slot.channel = None
        self.local.stop(graceful=graceful)


def _host_of(endpoint: str | None) -> str | None:
    if endpoint is None or not endpoint.startswith("tcp://"):
        return None
    return endpoint[len("tcp://") :].rsplit(":", 1)[0]


def _this_host() -> str:
    import socket

    return socket.getfqdn()
