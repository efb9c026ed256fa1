"""The numbers a run report shows, computed once from a :class:`RunResult`.

The page, the charts and the tests read these plain values instead of
re-deriving rates and shares from the raw metrics in several places.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from d4p_core import PEMetrics, RunResult

from .._topology import Topology

__all__ = ["InstanceRow", "PERow", "RunFacts", "gather"]

EXTRA_TEXT_LIMIT = 400
"""Longest text shown for one entry of ``RunResult.extra`` (a backend may
put long lists there)."""


@dataclass(frozen=True)
class PERow:
    """One PE's counters, summed over its instances."""

    pe_id: str
    instances: int
    items_in: int
    items_out: int
    process_calls: int
    busy_seconds: float
    busy_share: float
    """This PE's part of the busy time of all PEs (0 to 1)."""

    @property
    def items(self) -> int:
        """What the PE handled: items in, or items out for a source."""
        return self.items_in or self.items_out

    @property
    def throughput(self) -> float | None:
        """Items handled per second of busy time (None when it was never busy)."""
        if self.busy_seconds <= 0:
            return None
        return self.items / self.busy_seconds


@dataclass(frozen=True)
class InstanceRow:
    """One instance of a PE: what it handled and how long it was busy."""

    index: int
    items: int
    busy_seconds: float


@dataclass(frozen=True)
class RunFacts:
    """Everything the report shows about one run."""

    title: str
    command: str
    mapping: str
    elapsed_seconds: float
    processes: int | None
    results: int
    topology: Topology
    pes: tuple[PERow, ...]
    balance: Mapping[str, tuple[InstanceRow, ...]]
    warnings: tuple[str, ...]
    placement: tuple[tuple[str, ...], ...]
    """What each process hosted (``PE[instance]``), where the mapping says."""
    extra: tuple[tuple[str, str], ...]
    """The rest of ``RunResult.extra``, as short text."""
    created: str

    @property
    def total_instances(self) -> int:
        return sum(row.instances for row in self.pes)

    @property
    def total_busy_seconds(self) -> float:
        return sum(row.busy_seconds for row in self.pes)


def _handled(metrics: PEMetrics) -> int:
    return metrics.items_in or metrics.items_out


def _balance(result: RunResult) -> dict[str, tuple[InstanceRow, ...]]:
    balance: dict[str, tuple[InstanceRow, ...]] = {}
    for pe_id, totals in result.metrics.items():
        by_instance = result.instance_metrics.get(pe_id)
        if not by_instance:
            # A mapping that reports totals only (simple): one row of totals.
            by_instance = {0: totals}
        balance[pe_id] = tuple(
            InstanceRow(index, _handled(m), m.busy_seconds)
            for index, m in sorted(by_instance.items())
        )
    return balance


def _placement(extra: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    blocks = extra.get("placement")
    if not isinstance(blocks, (list, tuple)):
        return ()
    placement: list[tuple[str, ...]] = []
    for block in blocks:
        if not isinstance(block, (list, tuple)):
            return ()
        placement.append(
            tuple(
                f"{address[0]}[{address[1]}]"
                if isinstance(address, (list, tuple)) and len(address) == 2
                else str(address)
                for address in block
            )
        )
    return tuple(placement)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    if len(text) > EXTRA_TEXT_LIMIT:
        return text[: EXTRA_TEXT_LIMIT - 1] + "…"
    return text


def gather(
    result: RunResult,
    topology: Topology,
    *,
    title: str,
    command: Sequence[str],
    processes: int | None,
    results: int,
    created: str,
) -> RunFacts:
    """The facts of ``result``, a run of the workflow ``topology`` draws.

    PEs are listed in the topology's (topological) order, then any PE the
    metrics name that the topology does not.
    """
    order = [node.pe_id for node in topology.nodes]
    order += [pe_id for pe_id in result.metrics if pe_id not in order]
    total_busy = sum(m.busy_seconds for m in result.metrics.values())
    rows = []
    for pe_id in order:
        m = result.metrics.get(pe_id, PEMetrics(pe_id))
        rows.append(
            PERow(
                pe_id=pe_id,
                instances=m.instances,
                items_in=m.items_in,
                items_out=m.items_out,
                process_calls=m.process_calls,
                busy_seconds=m.busy_seconds,
                busy_share=m.busy_seconds / total_busy if total_busy > 0 else 0.0,
            )
        )
    return RunFacts(
        title=title,
        command=" ".join(command),
        mapping=result.mapping,
        elapsed_seconds=result.elapsed_seconds,
        processes=processes,
        results=results,
        topology=topology,
        pes=tuple(rows),
        balance=_balance(result),
        warnings=tuple(result.warnings),
        placement=_placement(result.extra),
        extra=tuple(
            (key, _short(value)) for key, value in result.extra.items() if key != "placement"
        ),
        created=created,
    )
