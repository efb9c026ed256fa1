"""The partitioning plan: what runs where, and how items and end-of-stream
markers travel. Every mapping consumes only this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import GraphError
from ..model.graph import FlatGraph, WorkflowGraph
from ..model.grouping import Global, Grouping, Shuffle, grouping_from_spec
from ..model.pe import GROUPING, GenericPE

__all__ = ["Plan", "Route"]


@dataclass(frozen=True)
class Route:
    """Where items written on one output go: one connection of the graph."""

    dst_pe: str
    dst_input: str
    grouping: Grouping
    dst_instances: int


@dataclass(frozen=True)
class Plan:
    """Typed, picklable description of a run of one graph on ``processes``.

    * ``pe_ids``: PE ids in topological order;
    * ``instances``: instance count per PE;
    * ``routes``: ``(pe, output) -> routes`` (one per connection, in order);
    * ``outputs``: declared outputs per PE; those without a route are results;
    * ``upstream``/``downstream``: distinct neighbouring PEs;
    * ``eos_expected``: end-of-stream markers each instance of a PE waits for
      (one from every instance of every distinct upstream PE);
    * ``sources``: PEs with no incoming connection (always one instance);
    * ``stateful``: PEs whose state must not be split (a grouped input or a
      truthy ``stateful`` attribute); ``pinned`` adds the sources;
    * ``global_only``: PEs whose inputs are all 'global' (one instance each);
    * ``partitions``: a fusion view — groups of PEs that can share a process
      (``graph.partitions`` when the user gave them, else linear chains).
    """

    pe_ids: tuple[str, ...]
    instances: Mapping[str, int]
    routes: Mapping[tuple[str, str], tuple[Route, ...]]
    outputs: Mapping[str, tuple[str, ...]]
    upstream: Mapping[str, tuple[str, ...]]
    downstream: Mapping[str, tuple[str, ...]]
    eos_expected: Mapping[str, int]
    sources: tuple[str, ...]
    stateful: frozenset[str]
    partitions: tuple[tuple[str, ...], ...]
    processes: int | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    global_only: frozenset[str] = frozenset()

    # -- construction -------------------------------------------------------
    @classmethod
    def build(
        cls,
        graph: WorkflowGraph | FlatGraph,
        processes: int | None = None,
        *,
        instances: Mapping[str, int] | None = None,
    ) -> Plan:
        """Plan ``graph`` for ``processes`` processes.

        ``processes=None`` gives one instance per PE (the ``simple`` mapping).
        Otherwise dispel4py's rules: sources get 1, an explicit
        ``numprocesses > 1`` is honoured exactly, ``single`` PEs and PEs whose
        inputs are all 'global' get 1 (such a PE asking for more is a
        :class:`GraphError`, on every mapping), and the other PEs share the
        remaining processes equally (what does not divide evenly goes to the
        first of them rather than staying idle). A graph
        that needs more processes than given raises :class:`GraphError`
        saying how many.
        A PE declared ``stateful`` keeps one instance unless its
        ``numprocesses`` asks for more.
        ``instances`` fixes the count of some PEs (the dynamic mappings use one
        logical instance per stateless PE and the declared count per pinned PE).
        """
        instances_given = instances
        flat = graph.flat() if isinstance(graph, WorkflowGraph) else graph
        if not flat.pes:
            raise GraphError("the workflow graph has no PEs")
        pes = flat.by_id()
        order = flat.topological_ids()

        incoming: dict[str, list[str]] = {pe_id: [] for pe_id in order}
        outgoing: dict[str, list[str]] = {pe_id: [] for pe_id in order}
        for connection in flat.connections:
            src, dst = _id(connection.src), _id(connection.dst)
            if dst not in outgoing[src]:
                outgoing[src].append(dst)
            if src not in incoming[dst]:
                incoming[dst].append(src)
        sources = tuple(pe_id for pe_id in order if not incoming[pe_id])

        groupings: dict[tuple[str, str], Grouping] = {}
        for connection in flat.connections:
            receiver = _pe(connection.dst)
            key = (receiver.id, connection.dst_port)
            if key not in groupings:
                groupings[key] = _input_grouping(receiver, connection.dst_port)

        connected: dict[str, list[Grouping]] = {}
        for (receiver_id, _), grouping in groupings.items():
            connected.setdefault(receiver_id, []).append(grouping)
        # Every item of a PE whose inputs are all 'global' goes to instance 0:
        # further instances would only idle (and still run postprocess).
        global_only = {
            pe_id for pe_id, kinds in connected.items() if all(isinstance(g, Global) for g in kinds)
        }
        instances = _assign_instances(pes, order, set(sources), global_only, processes)
        for pe_id, count in (instances_given or {}).items():
            if pe_id not in instances:
                raise GraphError(f"instance count given for unknown PE {pe_id!r}")
            if count < 1 or (pe_id in sources and count != 1):
                raise GraphError(f"invalid instance count {count} for PE {pe_id!r}")
            instances[pe_id] = count

        routes: dict[tuple[str, str], list[Route]] = {}
        for connection in flat.connections:
            dst_id = _id(connection.dst)
            routes.setdefault((_id(connection.src), connection.src_port), []).append(
                Route(
                    dst_pe=dst_id,
                    dst_input=connection.dst_port,
                    grouping=groupings[(dst_id, connection.dst_port)],
                    dst_instances=instances[dst_id],
                )
            )

        stateful = frozenset(
            pe_id
            for pe_id in order
            if getattr(pes[pe_id], "stateful", False)
            or any(not isinstance(g, Shuffle) for (d, _), g in groupings.items() if d == pe_id)
        )
        eos_expected = {pe_id: sum(instances[up] for up in incoming[pe_id]) for pe_id in order}
        partitions = _partitions(graph, flat, order, incoming, outgoing, instances, groupings)
        return cls(
            pe_ids=tuple(order),
            instances=instances,
            routes={k: tuple(v) for k, v in routes.items()},
            outputs={i: tuple(pes[i].outputconnections) for i in order},
            upstream={k: tuple(v) for k, v in incoming.items()},
            downstream={k: tuple(v) for k, v in outgoing.items()},
            eos_expected=eos_expected,
            sources=sources,
            stateful=stateful,
            partitions=partitions,
            processes=processes,
            names={i: pes[i].name for i in order},
            global_only=frozenset(global_only),
        )

    @staticmethod
    def minimum_processes(graph: WorkflowGraph | FlatGraph) -> int:
        """The fewest processes :meth:`build` accepts for ``graph``."""
        flat = graph.flat() if isinstance(graph, WorkflowGraph) else graph
        has_input = {_id(c.dst) for c in flat.connections}
        total = 0
        for pe in flat.pes:
            requested = getattr(pe, "numprocesses", 1)
            if pe.id not in has_input or getattr(pe, "single", False):
                total += 1
            elif isinstance(requested, int) and requested > 1:
                total += requested
            else:
                total += 1
        return total

    # -- queries --------------------------------------------------------------
    @property
    def pinned(self) -> frozenset[str]:
        """PEs that must run as fixed instances: stateful ones and sources."""
        return self.stateful | frozenset(self.sources)

    @property
    def shuffled_replicas(self) -> frozenset[str]:
        """PEs that are not stateful yet have several instances sharing
        their items round robin: state kept in their attributes is split."""
        grouped = {
            route.dst_pe
            for routes in self.routes.values()
            for route in routes
            if not isinstance(route.grouping, Shuffle)
        }
        return frozenset(
            pe_id
            for pe_id in self.pe_ids
            if self.instances[pe_id] > 1 and pe_id not in self.stateful and pe_id not in grouped
        )

    @property
    def total_instances(self) -> int:
        return sum(self.instances.values())

    def unconnected_outputs(self, pe_id: str) -> tuple[str, ...]:
        """Outputs of ``pe_id`` whose items are results of the run."""
        return tuple(o for o in self.outputs[pe_id] if (pe_id, o) not in self.routes)

    def describe(self) -> str:
        """A human-readable account of the plan (used by ``d4p inspect``)."""
        # The process count the instances were planned for; a fixed mapping
        # given fewer processes places (fuses) them on those (PlacedRun).
        planned = "one instance per PE" if self.processes is None else f"{self.processes} processes"
        lines = [f"planned for: {planned}"]
        lines.append(f"instances: {self.total_instances}")
        for pe_id in self.pe_ids:
            flags = []
            if pe_id in self.sources:
                flags.append("source")
            if pe_id in self.stateful:
                flags.append("stateful")
            if pe_id in self.global_only:
                flags.append("all inputs 'global': one instance")
            suffix = f" [{', '.join(flags)}]" if flags else ""
            lines.append(f"  {pe_id}: {self.instances[pe_id]} instance(s){suffix}")
            for output in self.outputs[pe_id]:
                for route in self.routes.get((pe_id, output), ()):
                    lines.append(
                        f"    {output} -> {route.dst_pe}.{route.dst_input} "
                        f"({route.grouping}, {route.dst_instances} instance(s))"
                    )
                if (pe_id, output) not in self.routes:
                    lines.append(f"    {output} -> (result)")
        lines.append("partitions: " + "; ".join("[" + ", ".join(p) + "]" for p in self.partitions))
        return "\n".join(lines)


def _id(node: object) -> str:
    return _pe(node).id


def _pe(node: object) -> GenericPE:
    if not isinstance(node, GenericPE):
        raise GraphError(f"{node!r} is not a PE; flatten the graph first")
    return node


def _input_grouping(pe: GenericPE, port: str) -> Grouping:
    spec = pe.inputconnections.get(port, {}).get(GROUPING)
    try:
        return grouping_from_spec(spec)
    except ValueError as exc:
        raise GraphError(f"input {port!r} of PE {pe.id!r}: {exc}") from exc


def _assign_instances(
    pes: Mapping[str, GenericPE],
    order: list[str],
    sources: set[str],
    global_only: set[str],
    processes: int | None,
) -> dict[str, int]:
    for pe_id in sorted(global_only):
        requested = getattr(pes[pe_id], "numprocesses", 1)
        if isinstance(requested, int) and not isinstance(requested, bool) and requested > 1:
            raise GraphError(
                f"PE {pe_id!r} asks for numprocesses={requested}, but all its inputs are "
                f"'global': every item goes to one instance, so it runs as exactly one. "
                f"Remove numprocesses, or give an input another grouping"
            )
    if processes is None:
        return {pe_id: 1 for pe_id in order}
    if processes < 1:
        raise GraphError(f"the number of processes must be at least 1, not {processes}")
    fixed: dict[str, int] = {}
    shared: list[str] = []
    for pe_id in order:
        pe = pes[pe_id]
        requested = getattr(pe, "numprocesses", 1)
        if not isinstance(requested, int) or isinstance(requested, bool) or requested < 1:
            raise GraphError(
                f"PE {pe_id!r} has numprocesses={requested!r}; it must be an integer >= 1"
            )
        if pe_id in sources or pe_id in global_only or getattr(pe, "single", False):
            fixed[pe_id] = 1
        elif getattr(pe, "stateful", False) and requested <= 1:
            # Declared stateful, with no grouping to route by: extra
            # instances would split its state. More only when asked for.
            fixed[pe_id] = 1
        elif requested > 1:
            fixed[pe_id] = requested
        else:
            shared.append(pe_id)
    needed = sum(fixed.values()) + len(shared)
    if needed > processes:
        explicit = ", ".join(f"{k}={v}" for k, v in fixed.items() if v > 1)
        detail = f" (explicit numprocesses: {explicit})" if explicit else ""
        raise GraphError(
            f"the graph needs at least {needed} processes{detail}: one per source, "
            f"its numprocesses per replicated PE and one per other PE; "
            f"only {processes} given"
        )
    # dispel4py gives every shared PE the same share and leaves the rest of
    # the processes idle; the remainder goes to the first shared PEs instead.
    spare = processes - sum(fixed.values())
    share, remainder = divmod(spare, len(shared)) if shared else (0, 0)
    extra = {pe_id: 1 for pe_id in shared[:remainder]}
    return {pe_id: fixed.get(pe_id, max(1, share + extra.get(pe_id, 0))) for pe_id in order}


def _partitions(
    graph: WorkflowGraph | FlatGraph,
    flat: FlatGraph,
    order: list[str],
    incoming: Mapping[str, list[str]],
    outgoing: Mapping[str, list[str]],
    instances: Mapping[str, int],
    groupings: Mapping[tuple[str, str], Grouping],
) -> tuple[tuple[str, ...], ...]:
    user = getattr(graph, "partitions", None)
    if user:
        return _user_partitions(user, flat, order)
    assigned: set[str] = set()
    chains: list[tuple[str, ...]] = []
    for pe_id in order:
        if pe_id in assigned:
            continue
        chain = [pe_id]
        assigned.add(pe_id)
        current = pe_id
        while len(outgoing[current]) == 1:
            nxt = outgoing[current][0]
            inputs_shuffled = all(
                isinstance(g, Shuffle) for (d, _), g in groupings.items() if d == nxt
            )
            if (
                nxt in assigned
                or incoming[nxt] != [current]
                or instances[nxt] != instances[current]
                or not (inputs_shuffled or instances[nxt] == 1)
            ):
                break
            chain.append(nxt)
            assigned.add(nxt)
            current = nxt
        chains.append(tuple(chain))
    return tuple(chains)


def _user_partitions(user: Any, flat: FlatGraph, order: list[str]) -> tuple[tuple[str, ...], ...]:
    known = {id(pe): pe.id for pe in flat.pes}
    result: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for group in user:
        ids: list[str] = []
        for pe in group:
            pe_id = known.get(id(pe))
            if pe_id is None:
                raise GraphError(f"graph.partitions names {pe!r}, which is not in the graph")
            if pe_id in seen:
                raise GraphError(f"graph.partitions names PE {pe_id!r} twice")
            seen.add(pe_id)
            ids.append(pe_id)
        result.append(tuple(sorted(ids, key=order.index)))
    missing = [pe_id for pe_id in order if pe_id not in seen]
    if missing:
        result.append(tuple(missing))
    return tuple(result)
