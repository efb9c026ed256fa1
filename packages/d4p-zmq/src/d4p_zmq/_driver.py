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
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.process
import pickle
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import zmq

from d4p_core import Outputs, PEMetrics, RunError, ServiceUnavailableError
from d4p_core.backend import (
    Address,
    FailureInfo,
    GraphPayload,
    InputSpec,
    Plan,
    ProgressTotals,
    parent_token,
    progress_listener,
)

from ._auth import AUTH_KEY_ENV, Curve
from ._node import local_worker
from ._protocol import HANDSHAKE_FAILURES, Assignment, dumps, heartbeat, monitor_events

__all__ = ["Driver", "DriverConfig"]

_POLL_MS = 200  # between checks of local processes (failure detection only)
_EXIT_GRACE = 25  # polls a cleanly exited worker gets for its last reports
_LOST_GRACE = 1.0  # seconds a disconnected remote worker gets for its "done"


@dataclass
class DriverConfig:
    plan: Plan
    blocks: tuple[tuple[Address, ...], ...]
    provided: dict[str, InputSpec]
    payload: GraphPayload
    transport: str  # "ipc" or "tcp"
    batch_size: int
    hwm: int
    remote_workers: int
    bind: str | None
    advertise: str | None
    auth_key: str | None
    key_generated: bool
    worker_timeout: float
    announce: Callable[[str], None] | None
    start_method: str | None


@dataclass
class _Slot:
    index: int
    hosted: tuple[Address, ...]
    remote: bool
    process: multiprocessing.process.BaseProcess | None = None
    channel: multiprocessing.connection.Connection | None = None
    identity: bytes | None = None
    host: str = ""
    pid: int | None = None
    endpoint: str | None = None
    done: bool = False
    quiet_polls: int = 0
    watch: zmq.Socket[bytes] | None = None
    watch_monitor: zmq.Socket[bytes] | None = None
    lost_at: float | None = None

    def describe(self) -> str:
        where = f"remote worker on {self.host}" if self.remote else "worker"
        hosting = ", ".join(f"{pe}[{n}]" for pe, n in self.hosted)
        return f"{where} {self.index} (hosting {hosting})"


@dataclass
class Driver:
    config: DriverConfig
    outputs: Outputs = field(default_factory=dict)
    metrics: dict[Address, PEMetrics] = field(default_factory=dict)
    rejected: int = 0
    endpoint: str = ""
    workers: list[dict[str, Any]] = field(default_factory=list)

    def run(self) -> None:
        config = self.config
        tmpdir = tempfile.mkdtemp(prefix="d4p-zmq-") if config.transport == "ipc" else None
        count = len(config.blocks)
        first_remote = count - config.remote_workers
        slots = [_Slot(i, block, remote=i >= first_remote) for i, block in enumerate(config.blocks)]
        finished = False
        # Local workers start before any ZeroMQ context exists here (forking
        # a process that runs ZeroMQ's I/O threads is unsafe).
        try:
            self._start_local(slots)
        except BaseException:
            self._stop(slots, graceful=False)
            if tmpdir is not None:
                shutil.rmtree(tmpdir, ignore_errors=True)
            raise
        context: zmq.Context[Any] = zmq.Context()
        curve = Curve.from_key(config.auth_key) if config.auth_key else None
        router = context.socket(zmq.ROUTER)
        router.linger = 0
        router.router_mandatory = True
        monitor: zmq.Socket[bytes] | None = None
        try:
            if curve is not None:
                curve.serve(router)
                heartbeat(router)
                monitor = router.get_monitor_socket(HANDSHAKE_FAILURES)
            self.endpoint = self._bind(router, tmpdir)
            for slot in slots:
                if slot.channel is not None:
                    slot.channel.send((self.endpoint, config.auth_key))
                    slot.channel.close()
                    slot.channel = None
            if config.remote_workers:
                self._announce()
            self._loop(context, router, monitor, slots, tmpdir, curve)
            finished = True
        finally:
            if not finished:
                self._abort(router, slots)
            self._stop(slots, graceful=finished)
            for slot in slots:
                for sock in (slot.watch, slot.watch_monitor):
                    if sock is not None:
                        sock.close(linger=0)
            if monitor is not None:
                with contextlib.suppress(zmq.ZMQError):
                    router.disable_monitor()
                monitor.close(linger=0)
            router.close(linger=1000 if finished else 0)  # "bye" goes out
            context.term()
            if tmpdir is not None:
                shutil.rmtree(tmpdir, ignore_errors=True)

    # -- start-up ---------------------------------------------------------------
    def _bind(self, router: zmq.Socket[bytes], tmpdir: str | None) -> str:
        config = self.config
        if tmpdir is not None:
            endpoint = f"ipc://{tmpdir}/driver"
            router.bind(endpoint)
            return endpoint
        bind = config.bind or ("tcp://0.0.0.0:0" if config.remote_workers else "tcp://127.0.0.1:0")
        try:
            router.bind(bind)
        except zmq.ZMQError as exc:
            raise ServiceUnavailableError(f"cannot listen on {bind}: {exc}") from exc
        bound = router.getsockopt_string(zmq.LAST_ENDPOINT)
        host, port = bound[len("tcp://") :].rsplit(":", 1)
        if host in ("0.0.0.0", "[::]", "::"):
            host = config.advertise or _this_host()
        return f"tcp://{host}:{port}"

    def _start_local(self, slots: list[_Slot]) -> None:
        mp = multiprocessing.get_context(self.config.start_method)
        for slot in slots:
            if slot.remote:
                continue
            receiver, sender = mp.Pipe(duplex=False)
            slot.channel = sender
            slot.process = mp.Process(  # type: ignore[attr-defined]
                target=local_worker,
                args=(receiver, slot.index, parent_token(mp)),
                name=f"d4p-zmq-worker-{slot.index}",
                # Not daemonic, so a PE may start processes of its own; a
                # worker never outlives the driver's connection.
                daemon=False,
            )
            assert slot.process is not None
            slot.process.start()
            receiver.close()

    def _announce(self) -> None:
        config = self.config
        key = f"{AUTH_KEY_ENV}={config.auth_key} " if config.key_generated else ""
        sys.stderr.write(
            f"d4p zmq_multi: waiting {config.worker_timeout:g} s for "
            f"{config.remote_workers} remote worker(s); on each machine run:\n"
            f"  {key}d4p worker zmq --connect {self.endpoint}\n"
            f"(or, without d4p-cli: {key}python -m d4p_zmq.worker --connect {self.endpoint})\n"
        )
        sys.stderr.flush()
        if config.announce is not None:
            config.announce(self.endpoint)

    def _assignment(self, slot: _Slot, tmpdir: str | None) -> Assignment:
        config = self.config
        if tmpdir is not None:
            bind: str | None = f"ipc://{tmpdir}/w{slot.index}"
        elif slot.remote:
            bind = None
        elif config.remote_workers:
            bind = f"tcp://{_host_of(config.bind) or '0.0.0.0'}:0"
        else:
            bind = "tcp://127.0.0.1:0"
        owner = {a: i for i, block in enumerate(config.blocks) for a in block}
        return Assignment(
            slot=slot.index,
            hosted=slot.hosted,
            plan=config.plan,
            owner=owner,
            provided={pe: s for pe, s in config.provided.items() if (pe, 0) in slot.hosted},
            batch_size=config.batch_size,
            hwm=config.hwm,
            bind=bind,
            report_progress=progress_listener() is not None,
        )

    # -- the run ------------------------------------------------------------------
    def _loop(
        self,
        context: zmq.Context[Any],
        router: zmq.Socket[bytes],
        monitor: zmq.Socket[bytes] | None,
        slots: list[_Slot],
        tmpdir: str | None,
        curve: Curve | None,
    ) -> None:
        config = self.config
        by_identity: dict[bytes, _Slot] = {}
        payload_frame = dumps(config.payload)
        listener = progress_listener()
        totals = ProgressTotals(listener) if listener is not None else None
        deadline = time.monotonic() + config.worker_timeout
        started = False
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        if monitor is not None:
            poller.register(monitor, zmq.POLLIN)
        while not all(slot.done for slot in slots):
            ready = dict(poller.poll(_POLL_MS))
            if monitor is not None and monitor in ready:
                self._count_rejections(monitor_events(monitor))
            while router.poll(0):
                identity, kind_frame, body = router.recv_multipart()
                kind = kind_frame.decode()
                slot = by_identity.get(identity)
                if kind == "hello":
                    slot = self._admit(router, identity, pickle.loads(body), slots)
                    if slot is not None:
                        by_identity[identity] = slot
                        assignment = dumps(self._assignment(slot, tmpdir))
                        _tell(router, slot, [b"assign", payload_frame, assignment])
                    continue
                if slot is None:
                    continue
                payload = pickle.loads(body)
                if kind == "results":
                    for pe_id, output, value in payload:
                        self.outputs.setdefault(pe_id, {}).setdefault(output, []).append(value)
                elif kind == "bound":
                    slot.endpoint = payload
                    if slot.remote:
                        self._watch(context, slot, curve, poller)
                    if all(s.endpoint is not None for s in slots):
                        endpoints = dumps({s.index: s.endpoint for s in slots})
                        for other in slots:
                            _tell(router, other, [b"go", endpoints])
                        started = True
                elif kind == "done":
                    slot.done = True
                    self.metrics.update(payload)
                elif kind == "progress" and totals is not None:
                    totals.update(slot.index, payload)
                elif kind == "failed":
                    assert isinstance(payload, FailureInfo)
                    raise payload.to_error()
                elif kind == "crashed":
                    raise RunError(
                        f"{slot.describe()} crashed: {payload.splitlines()[0]}",
                        remote_traceback=payload,
                    )
            self._check_local(slots)
            self._check_remote(slots)
            if not started and time.monotonic() > deadline:
                self._join_timeout(slots)
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
        self, router: zmq.Socket[bytes], identity: bytes, hello: dict[str, Any], slots: list[_Slot]
    ) -> _Slot | None:
        wanted = hello.get("slot")
        if wanted is None:
            free = [s for s in slots if s.remote and s.identity is None]
        else:
            free = [s for s in slots if s.index == wanted and not s.remote and s.identity is None]
        if not free:
            reason = "this run has all the workers it needs"
            with contextlib.suppress(zmq.ZMQError):
                router.send_multipart([identity, b"reject", dumps(reason)])
            return None
        slot = free[0]
        slot.identity = identity
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
            curve.join(sock)
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
                "not authenticate with the run's auth key\n"
            )
            sys.stderr.flush()

    def _check_local(self, slots: list[_Slot]) -> None:
        for slot in slots:
            process = slot.process
            if process is None or slot.done or process.exitcode is None:
                continue
            code = process.exitcode
            if code == 0:
                slot.quiet_polls += 1
                if slot.quiet_polls < _EXIT_GRACE:
                    continue
            how = (
                f"was killed by signal {signal.Signals(-code).name}"
                if code < 0
                else f"exited with status {code}"
            )
            raise RunError(f"{slot.describe()} {how} before finishing")

    def _check_remote(self, slots: list[_Slot]) -> None:
        now = time.monotonic()
        for slot in slots:
            if slot.watch_monitor is None or slot.done:
                continue
            if zmq.EVENT_DISCONNECTED in monitor_events(slot.watch_monitor):
                slot.lost_at = slot.lost_at or now
            if slot.lost_at is not None and now - slot.lost_at > _LOST_GRACE:
                raise RunError(
                    f"{slot.describe()} lost its connection before finishing "
                    "(killed, or its host is unreachable)"
                )

    def _join_timeout(self, slots: list[_Slot]) -> None:
        absent = [s for s in slots if s.remote and s.identity is None]
        if absent:
            joined = self.config.remote_workers - len(absent)
            rejected = (
                f"; {self.rejected} connection(s) were rejected for a wrong or missing auth key"
                if self.rejected
                else ""
            )
            raise ServiceUnavailableError(
                f"only {joined} of {self.config.remote_workers} remote worker(s) joined "
                f"{self.endpoint} within {self.config.worker_timeout:g} s{rejected}; start "
                f"them with 'python -m d4p_zmq.worker --connect {self.endpoint}'"
            )
        unready = ", ".join(s.describe() for s in slots if s.endpoint is None)
        raise ServiceUnavailableError(
            f"{unready} did not get ready within {self.config.worker_timeout:g} s"
        )

    # -- ending -----------------------------------------------------------------
    def _abort(self, router: zmq.Socket[bytes], slots: list[_Slot]) -> None:
        for slot in slots:
            if slot.identity is not None:
                with contextlib.suppress(zmq.ZMQError):
                    router.send_multipart([slot.identity, b"abort", b""], zmq.NOBLOCK)

    def _stop(self, slots: list[_Slot], graceful: bool) -> None:
        for slot in slots:
            if slot.channel is not None:
                slot.channel.close()  # a worker still waiting for it exits
                slot.channel = None
        processes = [s.process for s in slots if s.process is not None]
        deadline = time.monotonic() + (30 if graceful else 2)
        for process in processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + 3
        for process in processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


def _tell(router: zmq.Socket[bytes], slot: _Slot, frames: list[bytes]) -> None:
    assert slot.identity is not None
    try:
        router.send_multipart([slot.identity, *frames])
    except zmq.ZMQError as exc:  # router_mandatory: the peer is gone
        raise RunError(f"{slot.describe()} disconnected before the run started") from exc


def _host_of(endpoint: str | None) -> str | None:
    if endpoint is None or not endpoint.startswith("tcp://"):
        return None
    return endpoint[len("tcp://") :].rsplit(":", 1)[0]


def _this_host() -> str:
    import socket

    return socket.getfqdn()
