"""``RunResult.process_seconds`` of ``mpi``: every rank reports how long it
lived for the run, rank 0 sums them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from d4p_core import IterativePE, WorkflowGraph, run
from d4p_core.testing import child_processes
from d4p_core.testing.pes import CountingProducer


class Naps(IterativePE):
    """Sleeps a second per item: busy time spent on the rank that hosts it
    (sleeping, so that oversubscribed ranks do not compete for cores)."""

    def _process(self, data: Any) -> Any:
        time.sleep(1.0)
        return data


@pytest.mark.timeout(120)
def test_rank_zero_sums_every_ranks_lifetime() -> None:
    """Four instances of ``Naps`` on ranks 1-4 are busy four seconds in
    all, in parallel: more than rank 0 alone can have lived, so the sum
    holds the other ranks' lifetimes."""
    graph = WorkflowGraph()
    naps = Naps()
    naps.numprocesses = 4
    graph.connect(CountingProducer(), "output", naps, "input")
    result = run(graph, "mpi", inputs=4, processes=5)
    assert sorted(result.outputs[naps.id]["output"]) == [1, 2, 3, 4]
    placement = result.extra["placement"]
    assert len(placement) == 5 and all(pe != naps.id for pe, _ in placement[0])
    busy = result.metrics[naps.id].busy_seconds
    assert busy >= 4.0
    assert busy <= result.process_seconds <= 5 * result.elapsed_seconds
    assert not child_processes()
