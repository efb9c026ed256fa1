"""The conformance base class every mapping's test-suite subclasses.

::

    class TestMulti(MappingConformance):
        mapping = "multi"
        processes = 4

runs every conformance workflow on the mapping, compares it with ``simple``
and checks the failure cases.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from .._run import run
from ..errors import RunError, UnsupportedGraphError
from ..mapping import Mapping, load_mapping
from ..model.graph import WorkflowGraph
from ..planning.plan import Plan
from ..runtime.result import RunResult
from .checks import INVARIANTS, assert_same_multisets
from .pes import CountingProducer, Failing, PassThrough
from .processes import child_processes
from .workflows import CASES, ConformanceCase

__all__ = ["MappingConformance", "build_failing", "child_processes"]


def build_failing(phase: str) -> WorkflowGraph:
    """prod → pass → Failing(phase) → pass."""
    graph = WorkflowGraph()
    producer, first, failing, last = (
        CountingProducer(),
        PassThrough(),
        Failing(phase),
        PassThrough(),
    )
    graph.connect(producer, "output", first, "input")
    graph.connect(first, "output", failing, "input")
    graph.connect(failing, "output", last, "input")
    return graph


def _case_id(case: ConformanceCase) -> str:
    return case.name


class MappingConformance:
    """Subclass with ``mapping`` (and ``processes`` / ``options``) to run the suite."""

    mapping: ClassVar[str] = "simple"
    processes: ClassVar[int | None] = None
    options: ClassVar[dict[str, Any]] = {}

    # -- hooks ---------------------------------------------------------------
    def get_mapping(self) -> Mapping[Any]:
        return load_mapping(self.mapping)

    def mapping_options(self) -> Any:
        """The options the suite runs the mapping with (``processes`` and
        ``options``), as the mapping builds them."""
        return self.get_mapping().options_from_kwargs(self.processes, **self.options)

    def plan_for(self, graph: WorkflowGraph) -> Plan:
        """The plan the mapping runs (instance counts decide broadcast
        copies), from the mapping itself, as ``d4p inspect -m`` shows it."""
        try:
            planned = self.get_mapping().plan(graph, self.mapping_options())
        except UnsupportedGraphError:
            return Plan.build(graph)
        return planned if isinstance(planned, Plan) else planned.plan

    def run_graph(self, graph: WorkflowGraph, inputs: Any) -> RunResult:
        return run(
            graph,
            self.get_mapping(),
            inputs=inputs,
            processes=self.processes,
            **self.options,
        )

    # -- the suite -------------------------------------------------------------
    @pytest.mark.parametrize("case", CASES, ids=_case_id)
    def test_matches_simple(self, case: ConformanceCase) -> None:
        reference = run(case.build(), "simple", inputs=case.inputs)
        if case.expected is not None:
            assert_same_multisets(reference.outputs, case.expected)

        graph = case.build()
        mapping = self.get_mapping()
        plan = self.plan_for(graph)
        if not mapping.supports_stateful and plan.stateful:
            with pytest.raises(UnsupportedGraphError) as refused:
                self.run_graph(graph, case.inputs)
            assert any(pe in str(refused.value) for pe in plan.stateful)
            return

        result = self.run_graph(graph, case.inputs)
        iterations = case.inputs if isinstance(case.inputs, int) else 20
        if case.compare_multisets:
            multiplicity = {pe: plan.instances[pe] for pe in case.broadcast}
            assert_same_multisets(result.outputs, reference.outputs, multiplicity)
        if case.invariant is not None:
            INVARIANTS[case.invariant](reference.outputs, iterations)
            INVARIANTS[case.invariant](result.outputs, iterations)
        assert not child_processes(), "processes were left running after the run"

    @pytest.mark.parametrize("phase", ["preprocess", "process", "postprocess"])
    @pytest.mark.timeout(30)
    def test_pe_failure_is_reported(self, phase: str) -> None:
        graph = build_failing(phase)
        with pytest.raises(RunError) as failure:
            self.run_graph(graph, 5)
        error = failure.value
        assert error.pe_id == "Failing2"
        assert error.phase == phase
        assert "Failing2" in str(error)
        assert error.remote_traceback is not None
        assert "failing on purpose" in error.remote_traceback
        if phase == "process":
            assert error.input_repr is not None
            assert "3" in error.input_repr
        assert not child_processes(), "processes were left running after a failure"

    def test_result_metrics(self) -> None:
        graph = CASES[0].build()
        result = self.run_graph(graph, 7)
        assert result.mapping == self.mapping
        assert result.metrics["PassThrough5"].items_in == 7
        assert result.metrics["PassThrough5"].items_out == 7
        assert result.metrics["CountingProducer0"].process_calls == 7
