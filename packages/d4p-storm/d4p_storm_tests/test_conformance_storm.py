"""The conformance suite on a real Storm LocalCluster (one JVM for all)."""

from __future__ import annotations

from typing import Any

import pytest

from d4p_core import RunResult, WorkflowGraph, run
from d4p_core.testing import MappingConformance
from d4p_storm import LocalStorm


class TestStormConformance(MappingConformance):
    mapping = "storm"
    processes = 4
    # A topology takes ~7 s from submit to its first results on the
    # LocalCluster: the fast tier runs one smoke workflow (grouping, several
    # instances, a real cluster), the full tier (hatch run test-all / ci)
    # every workflow and every clause.
    quick_cases = frozenset({"word_count"})
    quick_clauses = frozenset({"test_matches_simple"})

    @pytest.fixture(autouse=True)
    def _cluster(self, storm_cluster: LocalStorm) -> None:
        self.cluster = storm_cluster

    def run_graph(self, graph: WorkflowGraph, inputs: Any) -> RunResult:
        return run(
            graph,
            self.get_mapping(),
            inputs=inputs,
            processes=self.processes,
            cluster=self.cluster,
            timeout=120,
        )
