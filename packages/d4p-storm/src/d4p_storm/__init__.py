"""d4p-storm: the ``storm`` mapping, a d4p graph as an Apache Storm topology
(LocalCluster, Nimbus Thrift submission or Flux YAML)."""

from __future__ import annotations

from .__about__ import __version__
from .flux import to_flux, write_flux
from .launcher import build_launcher
from .local import LocalStorm
from .mapping import StormMapping, StormOptions
from .nimbus import NimbusClient, topology_package
from .topology import (
    ComponentSpec,
    StreamSpec,
    Subscription,
    TopologySpec,
    build_topology,
    storm_plan,
    to_thrift,
)

__all__ = [
    "ComponentSpec",
    "LocalStorm",
    "NimbusClient",
    "StormMapping",
    "StormOptions",
    "StreamSpec",
    "Subscription",
    "TopologySpec",
    "__version__",
    "build_launcher",
    "build_topology",
    "storm_plan",
    "to_flux",
    "to_thrift",
    "topology_package",
    "write_flux",
]
