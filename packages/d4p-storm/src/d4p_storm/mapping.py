"""The ``storm`` mapping: a d4p graph as an Apache Storm topology.

* ``--local`` (the default): a Storm LocalCluster in a JVM started for the
  run (or a shared :class:`~d4p_storm.LocalStorm` given as ``cluster=``);
* ``--nimbus HOST:PORT``: submitted to a real cluster over Nimbus Thrift;
* ``--flux FILE``: only writes the topology as Flux YAML.

Runs end exactly: every task reports ``done`` to the driver after its end
of stream (punctuation on ``eos`` streams), then the driver kills the
topology. A failing PE ends the run with :class:`~d4p_core.RunError`.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from d4p_core import D4pError, Inputs, PEMetrics, RunResult, WorkflowGraph
from d4p_core.backend import GraphPayload, Plan, merge_metrics, resolve_inputs

from ._driver import Driver
from ._job import JOB_KEY, StormJob
from ._thrift import to_bytes
from .flux import write_flux
from .local import LocalStorm
from .nimbus import NimbusClient, parse_hostport, topology_package
from .topology import TopologySpec, build_topology, storm_plan, to_thrift

__all__ = ["REUSE_ENV", "StormMapping", "StormOptions", "default_command", "topology_conf"]

_ENTRY = Path(__file__).with_name("_entry.py")

REUSE_ENV = "D4P_STORM_REUSE_JVM"
"""Set to 1: ``--local`` runs of one Python process share one LocalCluster
JVM (started on first use, stopped when the process exits) instead of
starting one per run. For test suites and notebooks that run many small
workflows."""

_shared: LocalStorm | None = None


def _shared_cluster() -> LocalStorm:
    global _shared
    if _shared is None or not _shared.alive:
        # Detached: not a child of this process (whose leftover-process
        # checks stay meaningful); it still ends when this process does.
        _shared = LocalStorm(detach=True).start()
        atexit.register(_shared.close)
    return _shared


def default_command() -> tuple[str, str]:
    """What Storm runs for every task: this interpreter and the runner file."""
    return (sys.executable, str(_ENTRY))


@dataclass(frozen=True)
class StormOptions:
    """Options of ``storm``.

    ``processes``: the parallelism budget the plan shares out (as ``-n`` for
    ``multi``); ``nimbus``: ``HOST:PORT`` of a cluster to submit to;
    ``flux``: write Flux YAML to this file instead of running; ``local``:
    run on a LocalCluster (the default when neither is given); ``cluster``:
    a running :class:`LocalStorm` to use instead of starting one;
    ``batch_size``: items per tuple; ``workers``: ``topology.workers``;
    ``command``: the task command (interpreter, runner script) workers run;
    ``driver_host``: the address tasks reach this process at (``--nimbus``);
    ``timeout``: give up after this many seconds; ``conf``: extra Storm
    settings.
    """

    processes: int | None = None
    nimbus: str | None = None
    flux: str | None = None
    local: bool = False
    cluster: LocalStorm | None = None
    batch_size: int = 256
    workers: int = 1
    command: tuple[str, str] | None = None
    driver_host: str | None = None
    timeout: float | None = None
    conf: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.processes is not None and self.processes < 1:
            raise D4pError(f"processes must be at least 1, not {self.processes}")
        if self.batch_size < 1:
            raise D4pError(f"batch_size must be at least 1, not {self.batch_size}")
        if self.workers < 1:
            raise D4pError(f"workers must be at least 1, not {self.workers}")
        if self.nimbus is not None and (self.local or self.cluster is not None):
            raise D4pError("choose one of --local and --nimbus")
        if self.nimbus is not None:
            parse_hostport(self.nimbus)
        if self.command is not None and len(self.command) != 2:
            raise D4pError("command must be (executable, script): Storm passes exactly two")


def topology_conf(options: StormOptions, job: StormJob) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "topology.workers": options.workers,
        # Punctuation needs no acking; a replay after end of stream would
        # only be lost or counted twice.
        "topology.acker.executors": 0,
        "topology.subprocess.timeout.secs": 300,
        "topology.debug": False,
        JOB_KEY: job.to_conf(),
    }
    conf.update(options.conf)
    return conf


def _parse_conf(items: list[str]) -> dict[str, Any]:
    conf: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise D4pError(f"--conf expects KEY=VALUE, not {item!r}")
        try:
            conf[key] = json.loads(value)
        except json.JSONDecodeError:
            conf[key] = value
    return conf


def _route_to(host: str, port: int) -> str:
    """The local address this machine uses to reach ``host``."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, port))
        address: str = probe.getsockname()[0]
        return address
    return socket.gethostname()


class StormMapping:
    """PE instances as Storm tasks (spouts and bolts running d4p's runner)."""

    name: ClassVar[str] = "storm"
    supports_stateful: ClassVar[bool] = True
    description: ClassVar[str] = "an Apache Storm topology (LocalCluster, Nimbus or Flux YAML)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            "--local", action="store_true", help="run on a Storm LocalCluster (the default)"
        )
        where.add_argument("--nimbus", metavar="HOST:PORT", help="submit to a Storm cluster")
        parser.add_argument("--flux", metavar="FILE", help="write the topology as Flux YAML")
        parser.add_argument("--batch-size", type=int, default=256, help="items per tuple (256)")
        parser.add_argument("--workers", type=int, default=1, help="topology.workers (1)")
        parser.add_argument(
            "--driver-host", help="address the Storm tasks reach this process at (--nimbus)"
        )
        parser.add_argument(
            "--worker-python",
            help="the Python that workers run (default: this one); it needs d4p-storm",
        )
        parser.add_argument("--timeout", type=float, help="give up after this many seconds")
        parser.add_argument(
            "--conf", action="append", default=[], metavar="KEY=VALUE", help="Storm setting"
        )

    def options_from_args(self, args: argparse.Namespace) -> StormOptions:
        command = None
        if args.worker_python:
            command = (args.worker_python, str(_ENTRY))
        return StormOptions(
            processes=getattr(args, "processes", None),
            nimbus=args.nimbus,
            flux=args.flux,
            local=args.local,
            batch_size=args.batch_size,
            workers=args.workers,
            command=command,
            driver_host=args.driver_host,
            timeout=args.timeout,
            conf=_parse_conf(args.conf),
        )

    def options_from_kwargs(self, processes: int | None, **kwargs: Any) -> StormOptions:
        if "command" in kwargs and kwargs["command"] is not None:
            kwargs["command"] = tuple(kwargs["command"])
        try:
            return StormOptions(processes=processes, **kwargs)
        except TypeError as exc:
            raise D4pError(f"invalid option for storm: {exc}") from None

    def check(self, plan: Plan) -> None:
        pass

    def run(self, graph: WorkflowGraph, inputs: Inputs, options: StormOptions) -> RunResult:
        started = time.perf_counter()
        flat = graph.flat()
        plan = storm_plan(flat, options.processes or os.cpu_count() or 1)
        self.check(plan)
        provided = resolve_inputs(flat, inputs, plan.sources)
        payload = GraphPayload.create(flat.by_id(), "spawn")
        name = f"d4p-{secrets.token_hex(6)}"
        command = options.command or default_command()
        if options.flux is not None and options.nimbus is None:
            return self._write_flux(plan, provided, payload, name, command, options, started)
        remote = options.nimbus is not None
        if remote:
            assert options.nimbus is not None
            nimbus_host, nimbus_port = parse_hostport(options.nimbus)
            advertise = options.driver_host or _route_to(nimbus_host, nimbus_port)
            driver = Driver(bind="0.0.0.0", advertise=advertise)
        else:
            driver = Driver()
        log_dir = None if remote else tempfile.mkdtemp(prefix="d4p-storm-")
        try:
            job = StormJob(
                plan, payload, provided, options.batch_size, driver.address, driver.token, log_dir
            )
            spec = build_topology(plan, name, topology_conf(options, job))
            if options.flux is not None:
                write_flux(spec, command, options.flux)
            if remote:
                outputs, finished = self._run_nimbus(spec, command, driver, options)
            else:
                outputs, finished = self._run_local(spec, command, driver, options)
        finally:
            driver.close()
            if log_dir is not None:
                shutil.rmtree(log_dir, ignore_errors=True)
        instance_metrics: dict[str, dict[int, PEMetrics]] = {}
        for (pe_id, index), metrics in sorted(finished.items()):
            instance_metrics.setdefault(pe_id, {})[index] = metrics
        return RunResult(
            mapping=self.name,
            outputs=outputs,
            metrics=merge_metrics({a[0]: m} for a, m in finished.items()),
            instance_metrics=instance_metrics,
            elapsed_seconds=time.perf_counter() - started,
            extra={
                "topology": name,
                "parallelism": {c.id: c.parallelism for c in spec.components},
                "where": options.nimbus or "local",
            },
        )

    def _run_local(
        self, spec: TopologySpec, command: tuple[str, str], driver: Driver, options: StormOptions
    ) -> Any:
        cluster = options.cluster
        if cluster is None and os.environ.get(REUSE_ENV, "") not in ("", "0"):
            cluster = _shared_cluster()
        own = cluster is None
        cluster = cluster or LocalStorm().start()
        try:
            with tempfile.TemporaryDirectory(prefix="d4p-storm-topology-") as folder:
                topology_file = Path(folder) / "topology.thrift"
                conf_file = Path(folder) / "conf.json"
                topology_file.write_bytes(to_bytes(to_thrift(spec, command)))
                conf_file.write_text(json.dumps(dict(spec.conf)), encoding="utf-8")
                cluster.submit(spec.name, topology_file, conf_file, driver.post)
            try:
                return driver.collect(
                    sum(c.parallelism for c in spec.components), cluster.check, options.timeout
                )
            finally:
                cluster.kill(spec.name)
        finally:
            if own:
                cluster.close()

    def _run_nimbus(
        self, spec: TopologySpec, command: tuple[str, str], driver: Driver, options: StormOptions
    ) -> Any:
        assert options.nimbus is not None
        client = NimbusClient(options.nimbus)
        try:
            jar = client.upload(topology_package(spec.name))
            client.submit(spec.name, jar, spec.conf, to_thrift(spec, command))
            try:
                return driver.collect(
                    sum(c.parallelism for c in spec.components), None, options.timeout
                )
            finally:
                client.kill(spec.name)
        finally:
            client.close()

    def _write_flux(
        self,
        plan: Plan,
        provided: Any,
        payload: GraphPayload,
        name: str,
        command: tuple[str, str],
        options: StormOptions,
        started: float,
    ) -> RunResult:
        assert options.flux is not None
        job = StormJob(plan, payload, provided, options.batch_size, None, "", None)
        spec = build_topology(plan, name, topology_conf(options, job))
        path = write_flux(spec, command, options.flux)
        return RunResult(
            mapping=self.name,
            elapsed_seconds=time.perf_counter() - started,
            extra={"topology": name, "flux": str(path)},
        )
