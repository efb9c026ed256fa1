"""d4p-storm: the ``storm`` mapping, a d4p graph as an Apache Storm topology
(LocalCluster, Nimbus Thrift submission or Flux YAML).

Names load on first use, so that the task runner (one Python process per
Storm task, started one after another) imports only what it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .__about__ import __version__

if TYPE_CHECKING:
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

_WHERE = {
    "to_flux": "flux",
    "write_flux": "flux",
    "build_launcher": "launcher",
    "LocalStorm": "local",
    "StormMapping": "mapping",
    "StormOptions": "mapping",
    "NimbusClient": "nimbus",
    "topology_package": "nimbus",
    "ComponentSpec": "topology",
    "StreamSpec": "topology",
    "Subscription": "topology",
    "TopologySpec": "topology",
    "build_topology": "topology",
    "storm_plan": "topology",
    "to_thrift": "topology",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
