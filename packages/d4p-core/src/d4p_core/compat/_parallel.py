"""The parallel aggregates of ``dispel4py.new.aggregate``: composites of a
partial stage, which runs as many instances as the mapping gives it, and a
global stage (one instance) that combines the partials.

Connect a composite's ``input`` and read its ``output`` like one PE: it
writes one result whatever the number of partial instances, because idle
partial instances stay silent (dispel4py wrote an extra ``[0]`` or divided
by zero) and the global stage reads the partial results by position (so
``parallel_sum([2, 5])`` works; dispel4py's global stage read the original
indexes again). Both spellings are provided: ``parallel_sum`` (stream-d4py)
and ``parallelSum`` (older dispel4py).

The global stage's input is ``global``, which makes it stateful: the
dynamic mappings (``dyn_*``) refuse these composites with a message naming
it; every other mapping runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model.graph import WorkflowGraph
from ..model.pe import GROUPING, GenericPE
from ._aggregate import AggregatePE, CountPE, MaxPE, MinPE, SumPE, make_partial
from ._statistics import AverageParallelPE, AverageReducePE, StdDevPE, StdDevReducePE

__all__ = [
    "parallelAvg",
    "parallelCount",
    "parallelMax",
    "parallelMin",
    "parallelStdDev",
    "parallelSum",
    "parallel_aggregate",
    "parallel_avg",
    "parallel_count",
    "parallel_max",
    "parallel_min",
    "parallel_std_dev",
    "parallel_sum",
]

INPUT = AggregatePE.INPUT_NAME
OUTPUT = AggregatePE.OUTPUT_NAME


def parallel_aggregate(inst_pe: GenericPE, reduce_pe: GenericPE) -> WorkflowGraph:
    """A composite ``inst_pe -> reduce_pe`` with input ``input`` (of
    ``inst_pe``) and output ``output`` (of ``reduce_pe``).

    ``reduce_pe``'s input becomes ``global`` (one instance). An
    :class:`AggregatePE` given as ``inst_pe`` becomes a partial stage: not
    stateful, and an instance that received nothing writes nothing.
    """
    composite = WorkflowGraph()
    composite.connect(inst_pe, OUTPUT, reduce_pe, INPUT)
    make_partial(inst_pe)
    reduce_pe.inputconnections[INPUT][GROUPING] = "global"
    reduce_pe.numprocesses = 1
    composite.inputmappings = {"input": (inst_pe, INPUT)}
    composite.outputmappings = {"output": (reduce_pe, OUTPUT)}
    return composite


def _positions(indexes: Sequence[Any] | None) -> list[int]:
    """Where the partial results hold each aggregated index."""
    return list(range(1 if indexes is None else len(indexes)))


def parallel_count() -> WorkflowGraph:
    """Counts the items: writes ``[count]`` once (``[0]`` for an empty stream).

    Each partial instance counts what it receives; the global stage
    (``CountReduce``) sums the counts.
    """
    reduce_pe = SumPE([0])
    reduce_pe.name = "CountReduce"
    return parallel_aggregate(CountPE(), reduce_pe)


def parallel_sum(indexes: Sequence[Any] | None = None) -> WorkflowGraph:
    """Sums ``item[i]`` for each ``i`` in ``indexes`` (default ``[0]``):
    writes ``[sum, ...]`` once (zeros for an empty stream)."""
    return parallel_aggregate(SumPE(indexes), SumPE(_positions(indexes)))


def parallel_min(indexes: Sequence[Any] | None = None) -> WorkflowGraph:
    """Minimum of ``item[i]`` for each ``i`` in ``indexes`` (default ``[0]``):
    writes ``[min, ...]`` once (nothing for an empty stream)."""
    return parallel_aggregate(MinPE(indexes), MinPE(_positions(indexes)))


def parallel_max(indexes: Sequence[Any] | None = None) -> WorkflowGraph:
    """Maximum of ``item[i]`` for each ``i`` in ``indexes`` (default ``[0]``):
    writes ``[max, ...]`` once (nothing for an empty stream)."""
    return parallel_aggregate(MaxPE(indexes), MaxPE(_positions(indexes)))


def _pair(partial: GenericPE, reduce_pe: GenericPE) -> WorkflowGraph:
    composite = WorkflowGraph()
    composite.connect(partial, OUTPUT, reduce_pe, INPUT)
    composite.inputmappings = {"input": (partial, INPUT)}
    composite.outputmappings = {"output": (reduce_pe, OUTPUT)}
    return composite


def parallel_avg(index: Any = 0) -> WorkflowGraph:
    """Average of ``item[index]``: writes ``[average, count, sum]`` once
    (nothing for an empty stream)."""
    return _pair(AverageParallelPE(index), AverageReducePE())


def parallel_std_dev(index: Any = 0) -> WorkflowGraph:
    """Sample standard deviation of ``item[index]``: writes ``(std_dev,
    count, sum, sum_squared)`` once (nothing for an empty stream; ``nan``
    as the deviation of a single item)."""
    return _pair(StdDevPE(index), StdDevReducePE())


# The spellings of dispel4py before stream-d4py.
parallelCount = parallel_count  # noqa: N816
parallelSum = parallel_sum  # noqa: N816
parallelMin = parallel_min  # noqa: N816
parallelMax = parallel_max  # noqa: N816
parallelAvg = parallel_avg  # noqa: N816
parallelStdDev = parallel_std_dev  # noqa: N816
