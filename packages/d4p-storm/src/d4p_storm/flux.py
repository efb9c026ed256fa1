"""A topology as Flux YAML, for users who submit with ``storm jar ...
org.apache.storm.flux.Flux topology.yaml``.

Every component is a ``FluxShellSpout``/``FluxShellBolt`` running the d4p
runner, with its streams declared by ``setNamedStream`` and its PE given by
``addComponentConfig("d4p.pe", ...)``; groupings are ``FIELDS [key]``
(shuffled and grouped inputs), ``ALL`` and ``GLOBAL`` with the stream id.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from .topology import TopologySpec

__all__ = ["FLUX_BOLT", "FLUX_SPOUT", "flux_written", "to_flux", "write_flux"]

FLUX_SPOUT = "org.apache.storm.flux.wrappers.spouts.FluxShellSpout"
FLUX_BOLT = "org.apache.storm.flux.wrappers.bolts.FluxShellBolt"

_GROUPING_TYPES = {"fields": "FIELDS", "all": "ALL", "global": "GLOBAL"}


def to_flux(spec: TopologySpec, command: tuple[str, ...]) -> dict[str, Any]:
    """The Flux topology definition (a plain dict)."""
    spouts: list[dict[str, Any]] = []
    bolts: list[dict[str, Any]] = []
    streams: list[dict[str, Any]] = []
    for component in spec.components:
        config_methods: list[dict[str, Any]] = [
            {"name": "setNamedStream", "args": [stream.id, list(stream.fields)]}
            for stream in component.streams
        ]
        config_methods += [
            {"name": "addComponentConfig", "args": [key, value]}
            for key, value in component.conf.items()
        ]
        entry = {
            "id": component.id,
            "className": FLUX_SPOUT if component.kind == "spout" else FLUX_BOLT,
            # FluxShell*(String[] command, String[] outputFields): the
            # default stream is unused; d4p's streams are named.
            "constructorArgs": [list(command), ["unused"]],
            "configMethods": config_methods,
            "parallelism": component.parallelism,
        }
        (spouts if component.kind == "spout" else bolts).append(entry)
        for sub in component.inputs:
            grouping: dict[str, Any] = {
                "type": _GROUPING_TYPES[sub.grouping],
                "streamId": sub.stream,
            }
            if sub.grouping == "fields":
                grouping["args"] = list(sub.fields)
            streams.append(
                {
                    "name": f"{sub.source} --{sub.stream}--> {component.id}",
                    "from": sub.source,
                    "to": component.id,
                    "grouping": grouping,
                }
            )
    return {
        "name": spec.name,
        "config": dict(spec.conf),
        "spouts": spouts,
        "bolts": bolts,
        "streams": streams,
    }


def write_flux(spec: TopologySpec, command: tuple[str, ...], path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(f"# d4p topology {spec.name}: submit with\n")
        handle.write(
            f"#   storm jar TOPOLOGY.jar org.apache.storm.flux.Flux --remote {target.name}\n"
        )
        yaml.safe_dump(to_flux(spec, command), handle, sort_keys=False, width=1 << 20)
    return target


def flux_written(spec: TopologySpec, path: Path, command: tuple[str, ...], submitted: bool) -> str:
    """What ``--flux FILE`` tells the user: what it wrote and, when d4p does
    not run it too (``submitted``), how to submit it and what to expect."""
    spouts = sum(1 for c in spec.components if c.kind == "spout")
    tasks = sum(c.parallelism for c in spec.components)
    wrote = (
        f"wrote topology {spec.name} to {path} as Flux YAML ({spouts} spout(s), "
        f"{len(spec.components) - spouts} bolt(s), {tasks} task(s))"
    )
    if submitted:
        return wrote
    return (
        f"{wrote}; submit it with\n"
        f"  storm jar FLUX.jar org.apache.storm.flux.Flux --remote {path}\n"
        "FLUX.jar: any jar holding Storm's flux-core and flux-wrappers. Every supervisor\n"
        f"needs {command[0]} with d4p-core, d4p-storm and the workflow's modules at the\n"
        "same paths. Nobody collects the results: they go to Storm's worker logs, and\n"
        f"the topology runs until 'storm kill {spec.name}'."
    )
