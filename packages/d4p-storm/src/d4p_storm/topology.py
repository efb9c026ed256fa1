"""A d4p plan as a Storm topology.

Source PEs become spouts, every other PE a bolt; all of them run the one
generic multilang runner (:mod:`d4p_storm.runner`), told which PE to host by
the component's ``d4p.pe`` setting. Shuffle and GroupBy → Storm's fields
grouping on a ``key`` field that names the task the sender's executor chose
(round robin item by item, or the group key's stable hash: the same
instances as on every mapping, see :func:`~d4p_storm._streams.task_key`);
Broadcast → all; Global → global (and the PE gets one task, so its state is
never split). Parallelism comes from the plan. End of stream is punctuation
on one ``eos:<consumer>`` stream per consumer (see
:mod:`d4p_storm._streams`).

:class:`TopologySpec` is plain data; :func:`to_thrift` turns it into Storm's
Thrift ``StormTopology`` and :mod:`d4p_storm.flux` into Flux YAML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from d4p_core import Broadcast, Global, WorkflowGraph
from d4p_core.backend import FlatGraph, Plan

from ._streams import BATCH_FIELD, EOS_FIELD, KEY_FIELD, data_stream, eos_stream, keyed
from ._thrift import storm

__all__ = [
    "ComponentSpec",
    "StormGrouping",
    "StreamSpec",
    "Subscription",
    "TopologySpec",
    "build_topology",
    "storm_plan",
    "to_thrift",
]

StormGrouping = Literal["fields", "all", "global"]


@dataclass(frozen=True)
class StreamSpec:
    """A stream a component declares."""

    id: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Subscription:
    """One input of a component: ``source``'s ``stream`` with a grouping
    (``fields`` only for the fields grouping)."""

    source: str
    stream: str
    grouping: StormGrouping
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComponentSpec:
    """A spout or bolt: the PE it hosts, its tasks, streams and inputs."""

    id: str
    kind: Literal["spout", "bolt"]
    parallelism: int
    streams: tuple[StreamSpec, ...]
    inputs: tuple[Subscription, ...]
    conf: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TopologySpec:
    """The whole topology, before it becomes Thrift or Flux YAML."""

    name: str
    components: tuple[ComponentSpec, ...]
    conf: Mapping[str, Any] = field(default_factory=dict)

    def component(self, component_id: str) -> ComponentSpec:
        for component in self.components:
            if component.id == component_id:
                return component
        raise KeyError(component_id)


def storm_plan(graph: WorkflowGraph | FlatGraph, processes: int | None) -> Plan:
    """The plan a Storm run uses: the usual one, except that a PE with a
    global input gets one task (Storm's global grouping sends everything to
    one task; more would only idle)."""
    flat = graph.flat() if isinstance(graph, WorkflowGraph) else graph
    if processes is not None:
        processes = max(processes, Plan.minimum_processes(flat))
    plan = Plan.build(flat, processes)
    global_pes = {
        route.dst_pe
        for routes in plan.routes.values()
        for route in routes
        if isinstance(route.grouping, Global) and plan.instances[route.dst_pe] != 1
    }
    if not global_pes:
        return plan
    return Plan.build(flat, processes, instances=dict.fromkeys(global_pes, 1))


def _subscription(source: str, route_dst: str, dst_input: str, grouping: object) -> Subscription:
    stream = data_stream(route_dst, dst_input)
    if keyed(grouping):
        return Subscription(source, stream, "fields", (KEY_FIELD,))
    if isinstance(grouping, Broadcast):
        return Subscription(source, stream, "all")
    if isinstance(grouping, Global):
        return Subscription(source, stream, "global")
    raise TypeError(f"unknown grouping {grouping!r}")  # pragma: no cover - closed set


def build_topology(plan: Plan, name: str, conf: Mapping[str, Any] | None = None) -> TopologySpec:
    """The topology of ``plan``: one component per PE, named by PE id."""
    streams: dict[str, dict[str, StreamSpec]] = {pe: {} for pe in plan.pe_ids}
    inputs: dict[str, dict[tuple[str, str], Subscription]] = {pe: {} for pe in plan.pe_ids}
    for (src, _output), routes in plan.routes.items():
        for route in routes:
            fields = (KEY_FIELD, BATCH_FIELD) if keyed(route.grouping) else (BATCH_FIELD,)
            stream = data_stream(route.dst_pe, route.dst_input)
            streams[src][stream] = StreamSpec(stream, fields)
            subscription = _subscription(src, route.dst_pe, route.dst_input, route.grouping)
            inputs[route.dst_pe][(src, stream)] = subscription
    for pe_id in plan.pe_ids:
        for dst in plan.downstream[pe_id]:
            stream = eos_stream(dst)
            streams[pe_id][stream] = StreamSpec(stream, (EOS_FIELD,))
            inputs[dst][(pe_id, stream)] = Subscription(pe_id, stream, "all")
    components = tuple(
        ComponentSpec(
            id=pe_id,
            kind="spout" if pe_id in plan.sources else "bolt",
            parallelism=plan.instances[pe_id],
            streams=tuple(streams[pe_id].values()),
            inputs=tuple(inputs[pe_id].values()),
            conf={"d4p.pe": pe_id},
        )
        for pe_id in plan.pe_ids
    )
    return TopologySpec(name=name, components=components, conf=dict(conf or {}))


def _thrift_grouping(subscription: Subscription) -> Any:
    if subscription.grouping == "fields":
        return storm.Grouping(fields=list(subscription.fields))
    if subscription.grouping == "global":
        # Storm: an empty field list is the global grouping.
        return storm.Grouping(fields=[])
    return storm.Grouping(all=storm.NullStruct())


def to_thrift(spec: TopologySpec, command: tuple[str, str]) -> Any:
    """Storm's ``StormTopology``; every component runs ``command``
    (``execution_command``, ``script``: Storm passes exactly these two)."""
    spouts: dict[str, Any] = {}
    bolts: dict[str, Any] = {}
    for component in spec.components:
        common = storm.ComponentCommon(
            inputs={
                storm.GlobalStreamId(sub.source, sub.stream): _thrift_grouping(sub)
                for sub in component.inputs
            },
            streams={
                stream.id: storm.StreamInfo(list(stream.fields), False)
                for stream in component.streams
            },
            parallelism_hint=component.parallelism,
            json_conf=json.dumps(dict(component.conf)),
        )
        shell = storm.ComponentObject(shell=storm.ShellComponent(command[0], command[1]))
        if component.kind == "spout":
            spouts[component.id] = storm.SpoutSpec(spout_object=shell, common=common)
        else:
            bolts[component.id] = storm.Bolt(bolt_object=shell, common=common)
    return storm.StormTopology(spouts=spouts, bolts=bolts, state_spouts={})
