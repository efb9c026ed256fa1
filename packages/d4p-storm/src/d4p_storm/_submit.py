"""The Storm side of a run, for :meth:`StormMapping.execute
<d4p_storm.mapping.StormMapping.execute>`: the topology of a placed run (its
job in the conf), the driver the tasks report to, and where the topology runs:
a LocalCluster JVM (one per run, a shared one, or the caller's) or a cluster
behind Nimbus; it is killed afterwards, whatever happened.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from d4p_core import D4pError
from d4p_core.backend import GraphPayload, PlacedRun

from ._driver import Driver
from ._job import JOB_KEY, StormJob
from ._thrift import to_bytes
from .local import LocalStorm
from .nimbus import NimbusClient, parse_hostport, topology_package
from .topology import TopologySpec, build_topology, to_thrift

if TYPE_CHECKING:
    from .mapping import StormOptions

__all__ = [
    "REUSE_ENV",
    "default_command",
    "driver_for",
    "jvm_seconds",
    "run_topology",
    "storm_setting",
    "storm_topology",
    "topology_conf",
]

_ENTRY = Path(__file__).with_name("_entry.py")

REUSE_ENV = "D4P_STORM_REUSE_JVM"
"""Set to 1: ``--local`` runs of one Python process share one LocalCluster
JVM (started on first use, stopped when the process exits) instead of
starting one per run. For test suites and notebooks that run many small
workflows."""

_shared: LocalStorm | None = None

Collect = Callable[[Callable[[], None] | None], None]
"""Collects the run's reports; the argument raises if the cluster is gone."""


def default_command(python: str | None = None) -> tuple[str, str]:
    """What Storm runs for every task: an interpreter (this one by default)
    and the runner file."""
    return (python or sys.executable, str(_ENTRY))


def storm_setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of ``--conf``: the value as JSON, else as a string."""
    key, sep, value = text.partition("=")
    if not sep:
        raise D4pError(f"--conf expects KEY=VALUE, not {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


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


def storm_topology(
    placed: PlacedRun,
    name: str,
    options: StormOptions,
    driver: Driver | None = None,
    report_progress: bool = False,
) -> TopologySpec:
    """The topology of ``placed``, its job in the conf: reporting to
    ``driver`` (``None``: to Storm's log)."""
    job = StormJob(
        placed.plan,
        GraphPayload.create(placed.flat.by_id(), "storm"),
        placed.provided,
        options.batch_size,
        None if driver is None else driver.address,
        "" if driver is None else driver.token,
        report_progress,
    )
    return build_topology(placed.plan, name, topology_conf(options, job))


def _route_to(host: str, port: int) -> str:
    """The local address this machine uses to reach ``host``."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, port))
        address: str = probe.getsockname()[0]
        return address
    return socket.gethostname()


def driver_for(options: StormOptions) -> Driver:
    """A driver the tasks can reach: on loopback for a LocalCluster; on
    every interface, advertised at ``driver_host`` (or the address that
    routes to Nimbus), for a remote cluster."""
    if options.nimbus is None:
        return Driver()
    host, port = parse_hostport(options.nimbus)
    return Driver(bind="0.0.0.0", advertise=options.driver_host or _route_to(host, port))


def _shared_cluster() -> LocalStorm:
    global _shared
    if _shared is None or not _shared.alive:
        # Detached: not a child of this process (whose leftover-process
        # checks stay meaningful); it still ends when this process does.
        _shared = LocalStorm(detach=True).start()
        atexit.register(_shared.close)
    return _shared


@contextlib.contextmanager
def _local_cluster(options: StormOptions) -> Iterator[LocalStorm]:
    """The caller's cluster, the shared one (:data:`REUSE_ENV`), or one
    started for this run and always stopped."""
    cluster = options.cluster
    if cluster is None and os.environ.get(REUSE_ENV, "") not in ("", "0"):
        cluster = _shared_cluster()
    if cluster is not None:
        yield cluster
        return
    with LocalStorm() as own:
        yield own


def run_topology(
    spec: TopologySpec,
    command: tuple[str, str],
    driver: Driver,
    options: StormOptions,
    collect: Collect,
) -> None:
    """Submit ``spec``, ``collect`` its reports, then kill it."""
    if options.nimbus is not None:
        client = NimbusClient(options.nimbus)
        try:
            jar = client.upload(topology_package(spec.name))
            client.submit(spec.name, jar, spec.conf, to_thrift(spec, command))
            try:
                collect(None)
            finally:
                client.kill(spec.name)
        finally:
            client.close()
        return
    with _local_cluster(options) as cluster:
        cluster.submit(spec.name, to_bytes(to_thrift(spec, command)), spec.conf, driver.post)
        try:
            collect(cluster.check)
        finally:
            cluster.kill(spec.name)


def jvm_seconds(conf: Mapping[str, Any], options: StormOptions, seconds: float) -> float:
    """The JVM-seconds the topology held, beside the Python task processes
    ``process_seconds`` counts: on a cluster its ``topology.workers`` worker
    JVMs for the run's ``seconds`` (submitted to killed: what its supervisor
    slots were taken for); on a LocalCluster the one JVM that hosts every
    worker (the daemons' share included, also when the JVM is shared)."""
    if options.nimbus is None:
        return seconds
    return int(conf.get("topology.workers", options.workers)) * seconds
