"""What a run returns: results of unconnected outputs, metrics, failures."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import RunError

__all__ = ["FailureInfo", "Outputs", "PEMetrics", "RunResult", "merge_metrics", "merge_outputs"]

Outputs = dict[str, dict[str, list[Any]]]
"""``{pe_id: {output: [values]}}`` for every unconnected output that got items."""


@dataclass
class PEMetrics:
    """Counters of one PE, summed over the instances that ran it."""

    pe_id: str
    instances: int = 0
    items_in: int = 0
    items_out: int = 0
    process_calls: int = 0
    busy_seconds: float = 0.0
    split_state: tuple[str, ...] = ()
    """Attributes ``process`` changed on round-robin instances of a PE that
    is not ``stateful`` (each instance had its own part of that state)."""

    def add(self, other: PEMetrics) -> None:
        self.instances += other.instances
        self.items_in += other.items_in
        self.items_out += other.items_out
        self.process_calls += other.process_calls
        self.busy_seconds += other.busy_seconds
        if other.split_state:
            self.split_state = tuple(sorted({*self.split_state, *other.split_state}))


@dataclass(frozen=True)
class FailureInfo:
    """A PE failure, as plain picklable data (it may cross processes)."""

    pe_id: str
    instance: int
    phase: str
    input_repr: str | None
    error: str
    traceback: str

    def message(self) -> str:
        where = f"PE {self.pe_id!r} (instance {self.instance}) failed in {self.phase}"
        if self.input_repr is not None:
            where += f" on input {self.input_repr}"
        return f"{where}: {self.error}"

    def to_error(self) -> RunError:
        return RunError(
            self.message(),
            pe_id=self.pe_id,
            instance=self.instance,
            phase=self.phase,
            input_repr=self.input_repr,
            remote_traceback=self.traceback,
        )


@dataclass
class RunResult:
    """The outcome of a run, identical in shape for every mapping."""

    mapping: str
    outputs: Outputs = field(default_factory=dict)
    metrics: dict[str, PEMetrics] = field(default_factory=dict)
    instance_metrics: dict[str, dict[int, PEMetrics]] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    errors: list[FailureInfo] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    primary: bool = True
    """False on the secondary processes of a run started by an outside
    launcher (e.g. ranks other than 0 under ``mpiexec``): their result is
    empty and front ends print nothing for them."""
    warnings: list[str] = field(default_factory=list)
    """What the run noticed but did not fail for (e.g. split undeclared
    state); the mapping also issues each as a Python warning."""
    process_seconds: float = 0.0
    """Process-seconds alive: the cost of the run in processes kept for it,
    comparable across mappings (fixed and elastic alike).

    The sum, over every process the run kept for PE work (workers, source
    processes, MPI ranks, Storm's Python task processes...), of that
    process's lifetime from its start to its exit. The driver process counts
    only where it does PE work itself (``simple``: one process, the run's
    ``elapsed_seconds``). Processes a mapping did not start itself count
    for the part of their life the run had them (an MPI rank: from its
    ``run()`` call to the end of its part). Each mapping's page says what
    it counts. 0.0 on a secondary process (``primary=False``)."""


def merge_outputs(target: Outputs, source: Outputs) -> Outputs:
    """Append ``source``'s results to ``target`` (in place) and return it."""
    for pe_id, by_output in source.items():
        into = target.setdefault(pe_id, {})
        for output, values in by_output.items():
            into.setdefault(output, []).extend(values)
    return target


def merge_metrics(parts: Iterable[dict[str, PEMetrics]]) -> dict[str, PEMetrics]:
    """Sum per-PE metrics reported by several processes."""
    merged: dict[str, PEMetrics] = {}
    for part in parts:
        for pe_id, metrics in part.items():
            merged.setdefault(pe_id, PEMetrics(pe_id)).add(metrics)
    return merged
