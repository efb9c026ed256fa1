"""The ``zmq_multi`` mapping: fixed assignment of PE instances to processes
that exchange batches over ZeroMQ, on one machine or several.

The plan sizes the instances and :func:`~d4p_core.place` puts them on
processes exactly as for ``multi``; each process runs core's
:class:`~d4p_core.Executor` (``serve``) with a ZeroMQ transport. Local runs
use ``ipc://`` endpoints in a private temporary directory; ``--transport
tcp`` uses authenticated (CURVE) tcp connections, which also lets workers on
other machines join (``--remote-workers K``).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from d4p_core import D4pError, Inputs, PEMetrics, RunResult, WorkflowGraph
from d4p_core.backend import Address, Fuse, GraphPayload, Plan, merge_metrics, place, resolve_inputs

from ._auth import AUTH_KEY_ENV, new_auth_key, resolve_auth_key
from ._driver import Driver, DriverConfig

__all__ = ["ZmqMultiMapping", "ZmqOptions"]

_TRANSPORTS = ("ipc", "tcp")
_START_METHODS = ("fork", "spawn", "forkserver")


@dataclass(frozen=True)
class ZmqOptions:
    """Options of ``zmq_multi``.

    ``processes``: processes in all (local and remote; default: CPU count);
    ``transport``: ``ipc`` (default, this machine only) or ``tcp`` (the
    default with remote workers); ``start_method``: how local worker
    processes start (multiprocessing's; default: the platform's); ``batch_size``: items per message;
    ``queue_size``: messages buffered per socket (ZeroMQ high-water mark)
    before a sender waits; ``fuse``: as for ``multi``; ``remote_workers``: how
    many of the processes are workers started elsewhere with ``python -m
    d4p_zmq.worker --connect ...`` (they take the last partitions);
    ``bind``: the driver's tcp endpoint (default ``tcp://127.0.0.1:0``, or
    ``tcp://0.0.0.0:0`` with remote workers; port 0: any free port);
    ``advertise``: the host name workers reach this machine at; ``auth_key``:
    the tcp auth key (default: ``$D4P_ZMQ_AUTH_KEY``, else a new random key);
    ``worker_timeout``: seconds to wait for the workers to join;
    ``announce``: called with the driver's endpoint once it listens for
    remote workers (library use).
    """

    processes: int | None = None
    transport: str | None = None
    start_method: str | None = None
    batch_size: int = 256
    queue_size: int = 16
    fuse: Fuse = "auto"
    remote_workers: int = 0
    bind: str | None = None
    advertise: str | None = None
    auth_key: str | None = field(default=None, repr=False)
    worker_timeout: float = 60.0
    announce: Callable[[str], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.processes is not None and self.processes < 1:
            raise D4pError(f"processes must be at least 1, not {self.processes}")
        for name in ("batch_size", "queue_size"):
            if getattr(self, name) < 1:
                raise D4pError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.fuse not in ("auto", "always", "never"):
            raise D4pError(f"fuse must be auto, always or never, not {self.fuse!r}")
        if self.start_method is not None and self.start_method not in _START_METHODS:
            raise D4pError(
                f"unknown start method {self.start_method!r}; use one of "
                + ", ".join(_START_METHODS)
            )
        if self.transport is not None and self.transport not in _TRANSPORTS:
            raise D4pError(f"transport must be ipc or tcp, not {self.transport!r}")
        if self.remote_workers < 0:
            raise D4pError(f"remote_workers must be 0 or more, not {self.remote_workers}")
        if self.remote_workers and self.transport == "ipc":
            raise D4pError("remote workers need the tcp transport (--transport tcp)")
        if self.bind is not None and not self.bind.startswith("tcp://"):
            raise D4pError(f"bind must be a tcp:// endpoint (tcp://HOST:PORT), not {self.bind!r}")
        if self.worker_timeout <= 0:
            raise D4pError(f"worker_timeout must be positive, not {self.worker_timeout}")
        resolve_auth_key(self.auth_key)

    @property
    def effective_transport(self) -> str:
        if self.transport is not None:
            return self.transport
        return "tcp" if self.remote_workers or self.bind else "ipc"


class ZmqMultiMapping:
    """Fixed assignment of PE instances to processes joined by ZeroMQ."""

    name: ClassVar[str] = "zmq_multi"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = (
        "one process per PE instance (or fused chain), ZeroMQ between them; several machines"
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--transport",
            choices=_TRANSPORTS,
            help="ipc (default; this machine) or tcp (authenticated; several machines)",
        )
        parser.add_argument(
            "--start-method", choices=_START_METHODS, help="how local workers start"
        )
        parser.add_argument("--batch-size", type=int, default=256, help="items per message (256)")
        parser.add_argument(
            "--queue-size",
            type=int,
            default=16,
            help="messages buffered per socket before senders wait (16)",
        )
        parser.add_argument(
            "--fuse",
            choices=("auto", "always", "never"),
            default="auto",
            help="fuse chains of PEs into one process (auto: when processes are too few)",
        )
        parser.add_argument(
            "--remote-workers",
            type=int,
            default=0,
            metavar="K",
            help="K of the processes are remote workers that join with "
            "'python -m d4p_zmq.worker --connect ...' (implies --transport tcp)",
        )
        parser.add_argument(
            "--bind",
            metavar="tcp://HOST:PORT",
            help="where the driver listens (default: any free port; all interfaces "
            "with remote workers)",
        )
        parser.add_argument("--advertise", metavar="HOST", help="this machine's name for workers")
        parser.add_argument(
            "--auth-key",
            help=f"tcp auth key shared with remote workers (default: ${AUTH_KEY_ENV}, "
            "else a new random one, printed for the workers)",
        )
        parser.add_argument(
            "--worker-timeout",
            type=float,
            default=60.0,
            help="seconds to wait for the workers to join (60)",
        )

    def options_from_args(self, args: argparse.Namespace) -> ZmqOptions:
        return ZmqOptions(
            processes=getattr(args, "processes", None),
            transport=args.transport,
            start_method=args.start_method,
            batch_size=args.batch_size,
            queue_size=args.queue_size,
            fuse=args.fuse,
            remote_workers=args.remote_workers,
            bind=args.bind,
            advertise=args.advertise,
            auth_key=args.auth_key,
            worker_timeout=args.worker_timeout,
        )

    def options_from_kwargs(self, processes: int | None, **kwargs: Any) -> ZmqOptions:
        try:
            return ZmqOptions(processes=processes, **kwargs)
        except TypeError as exc:
            raise D4pError(f"invalid option for zmq_multi: {exc}") from None

    def check(self, plan: Plan) -> None:
        pass

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: ZmqOptions) -> RunResult:
        started = time.perf_counter()
        processes = options.processes or os.cpu_count() or 1
        flat = graph.flat()
        plan = Plan.build(flat, max(processes, Plan.minimum_processes(flat)))
        self.check(plan)
        blocks = place(plan, processes, options.fuse)
        if options.remote_workers > len(blocks):
            raise D4pError(
                f"{options.remote_workers} remote workers were asked for but the placement "
                f"has only {len(blocks)} partitions; use -n {options.remote_workers} or more"
            )
        provided = resolve_inputs(flat, inputs, plan.sources)
        transport = options.effective_transport
        auth_key = resolve_auth_key(options.auth_key) if transport == "tcp" else None
        generated = transport == "tcp" and auth_key is None
        if generated:
            auth_key = new_auth_key()
        driver = Driver(
            DriverConfig(
                plan=plan,
                blocks=blocks,
                provided=provided,
                payload=GraphPayload.create(flat.by_id(), "spawn"),
                transport=transport,
                batch_size=options.batch_size,
                hwm=options.queue_size,
                remote_workers=options.remote_workers,
                bind=options.bind,
                advertise=options.advertise,
                auth_key=auth_key,
                key_generated=generated,
                worker_timeout=options.worker_timeout,
                announce=options.announce,
                start_method=options.start_method,
            )
        )
        driver.run()
        per_instance: dict[Address, PEMetrics] = driver.metrics
        instance_metrics: dict[str, dict[int, PEMetrics]] = {}
        for (pe_id, index), metrics in sorted(per_instance.items()):
            instance_metrics.setdefault(pe_id, {})[index] = metrics
        return RunResult(
            mapping=self.name,
            outputs=driver.outputs,
            metrics=merge_metrics({a[0]: m} for a, m in per_instance.items()),
            instance_metrics=instance_metrics,
            elapsed_seconds=time.perf_counter() - started,
            extra={
                "placement": [list(block) for block in blocks],
                "transport": transport,
                "endpoint": driver.endpoint,
                "rejected_connections": driver.rejected,
                "workers": driver.workers,
            },
        )
