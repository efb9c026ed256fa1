"""The conformance base class every mapping's test-suite subclasses.

::

    class TestMulti(MappingConformance):
        mapping = "multi"
        processes = 4

runs every conformance workflow on the mapping, compares it with ``simple``,
and checks one small test per clause of the mapping contract (lifecycle,
inputs, failure, purity). A subclass configures the suite with class
attributes only (``mapping``, ``processes``, ``options``, ``quick_cases``,
``quick_clauses``);
overriding a test of this class is refused unless the override is marked
``xfail`` or ``skip`` with a reason (``test_no_silent_overrides``).

``quick_cases``: the workflows the fast test tier runs (the others are marked
``slow`` by core's pytest plugin). Set it to :data:`PORTABILITY_CASES` for a
second run of a mapping under ``spawn`` or ``forkserver``: routing does not
depend on the start method, what travels to the workers does.

``quick_clauses``: the tests of the suite the fast tier runs (by function
name; the others are marked ``slow``); None, the default, runs them all. A
mapping whose every run costs seconds (a Storm topology) keeps a smoke
subset here; the full tier still runs every clause.

``processes_span_the_run``: True for a mapping whose processes all live
from (about) the start of the run to its end, with at least two of them
(``multi``, ``dyn_multi``...): its ``process_seconds`` must then be at least
the run's ``elapsed_seconds``. Leave it False where an outside launcher
starts the processes well into the run (``mpiexec``, Storm's JVM) or an
autoscaler ends them early.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, ClassVar

import pytest

from .._run import run
from ..errors import InputError, RunError, UndeclaredStateWarning, UnsupportedGraphError
from ..mapping import Mapping, available_mappings, load_mapping
from ..mappings.dynamic.base import DynamicMappingBase
from ..model.graph import WorkflowGraph
from ..planning.plan import Plan
from ..runtime.result import Outputs, RunResult
from ..runtime.streaming import results_to
from .checks import INVARIANTS, assert_same_multisets
from .pes import (
    CountingProducer,
    Failing,
    LifecycleProbe,
    PassThrough,
    Remembers,
    RemembersAsACache,
)
from .processes import child_processes, subprocess_env
from .workflows import CASES, ConformanceCase, case_by_name

__all__ = ["PORTABILITY_CASES", "MappingConformance", "build_failing", "child_processes"]

PORTABILITY_CASES = frozenset(
    {"pipeline", "composite_chain", "word_count", "postprocess_aggregate", "block_pes"}
)
"""Workflows that exercise what a start method changes: PEs, functions and
composites pickled to fresh interpreters, grouping, postprocess output."""


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


# A workflow whose PE classes live in the script run as __main__.
MAIN_WORKFLOW = """
import json
import sys

from d4p_core import IterativePE, ProducerPE, WorkflowGraph, run


class Numbers(ProducerPE):
    def _process(self, inputs):
        for number in range(1, 7):
            self.write("output", number)


class Square(IterativePE):
    def __init__(self):
        super().__init__()
        self.numprocesses = 2

    def _process(self, value):
        return value * value


if __name__ == "__main__":
    graph = WorkflowGraph()
    graph.connect(Numbers(), "output", Square(), "input")
    result = run(graph, {mapping!r}, processes={processes!r}, **{options!r})
    print(json.dumps(sorted(result.outputs["Square1"]["output"])))
"""


def _case_id(case: ConformanceCase) -> str:
    return case.name


def _processes_counted(result: RunResult) -> int | None:
    """How many processes a run kept, where its result says: ``simple`` one,
    a fixed placement one per block, a dynamic mapping every start."""
    if result.mapping == "simple":
        return 1
    placement = result.extra.get("placement")
    if isinstance(placement, list):
        return len(placement)
    started = result.extra.get("processes_started")
    return started if isinstance(started, int) else None


class MappingConformance:
    """Subclass with ``mapping`` (and ``processes`` / ``options``) to run the suite."""

    mapping: ClassVar[str] = "simple"
    processes: ClassVar[int | None] = None
    options: ClassVar[dict[str, Any]] = {}
    quick_cases: ClassVar[frozenset[str] | None] = None
    quick_clauses: ClassVar[frozenset[str] | None] = None
    processes_span_the_run: ClassVar[bool] = False

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

    # -- one test per clause of the contract --------------------------------
    @pytest.mark.timeout(60)
    def test_lifecycle_once_per_instance(self) -> None:
        """Troubleshooting: every instance (or dynamic worker copy) runs
        ``preprocess`` once before its data and ``postprocess`` once after
        all its upstream instances ended; what ``postprocess`` writes is a
        result like any other."""
        graph = WorkflowGraph()
        probe = LifecycleProbe(numprocesses=2)
        graph.connect(CountingProducer(), "output", probe, "input")
        result = self.run_graph(graph, 12)
        reports = result.outputs[probe.id]["output"]
        assert reports, "postprocess wrote nothing"
        assert all(preprocessed == 1 for preprocessed, _ in reports), reports
        assert sum(items for _, items in reports) == 12, reports

    @pytest.mark.timeout(60)
    def test_inputs_as_a_list_of_dicts(self) -> None:
        """Troubleshooting: ``inputs={pe: [dict, ...]}`` calls the root PE
        once per dict, with that dict as its inputs."""
        graph = WorkflowGraph()
        first, second = PassThrough(), PassThrough()
        graph.connect(first, "output", second, "input")
        result = self.run_graph(graph, {first.id: [{"input": i} for i in range(5)]})
        assert sorted(result.outputs[second.id]["output"]) == [0, 1, 2, 3, 4]

    @pytest.mark.timeout(60)
    def test_unknown_input_name_is_refused(self) -> None:
        """Troubleshooting: naming a PE the graph does not have is an
        InputError listing the valid names, before anything starts."""
        graph = build_failing("process")
        with pytest.raises(InputError) as refused:
            self.run_graph(graph, {"NoSuchPE": 3})
        assert "CountingProducer0" in str(refused.value)
        assert not child_processes(), "a refused run left processes behind"

    @pytest.mark.timeout(60)
    def test_run_leaves_the_graph_unchanged(self) -> None:
        """Troubleshooting: a mapping runs on copies of the PEs; the caller's
        graph (PE attributes such as counters) is the same after the run."""
        graph = case_by_name("pipeline").build()  # its source counts calls
        before = {pe.id: pickle.dumps(pe) for pe in graph.flat().by_id().values()}
        self.run_graph(graph, 10)
        after = {pe.id: pickle.dumps(pe) for pe in graph.flat().by_id().values()}
        assert after == before

    @pytest.mark.timeout(120)
    def test_run_twice_gives_the_same_results(self) -> None:
        """Troubleshooting: every run starts from fresh copies of the PEs, so
        running a graph twice, or on ``simple`` in between, gives the same
        results (the source here counts its calls in an attribute)."""
        graph = case_by_name("pipeline").build()
        first = self.run_graph(graph, 10)
        run(graph, "simple", inputs=10)
        second = self.run_graph(graph, 10)
        assert_same_multisets(second.outputs, first.outputs)

    @pytest.mark.timeout(120)
    def test_results_can_stream_to_a_callback(self) -> None:
        """Troubleshooting: ``run(..., on_result=f)`` hands every result to
        ``f(pe_id, output, value)`` in the calling process and keeps none in
        ``RunResult.outputs`` (backends that report results as they arrive
        stream them; others deliver them when the run ends)."""
        case = case_by_name("multi_write")  # stateless: every mapping runs it
        reference = run(case.build(), "simple", inputs=case.inputs).outputs
        received: Outputs = {}

        def on_result(pe_id: str, output: str, value: Any) -> None:
            received.setdefault(pe_id, {}).setdefault(output, []).append(value)

        with results_to(on_result):
            result = self.run_graph(case.build(), case.inputs)
        assert result.outputs == {}
        assert_same_multisets(received, reference)

    @pytest.mark.timeout(120)
    def test_undeclared_state_is_refused_or_warned(self) -> None:
        """Troubleshooting: a PE keeping state in a plain attribute (not
        ``stateful``, no grouping). Where the mapping runs a copy of it in
        every worker (dynamic mappings, hybrid ones for stateless PEs) the
        run fails naming the PE and the attribute; where it gets several
        round-robin instances, the run warns (``UndeclaredStateWarning`` and
        ``RunResult.warnings``); with ``check_state = False``, or one
        instance, nothing is said."""
        mapping = self.get_mapping()
        workers = self.processes or os.cpu_count() or 1
        for remembers in (Remembers(numprocesses=2), RemembersAsACache(numprocesses=2)):
            graph = WorkflowGraph()
            graph.connect(CountingProducer(), "output", remembers, "input")
            watched = remembers.check_state
            if watched and isinstance(mapping, DynamicMappingBase) and workers > 1:
                with pytest.raises(RunError) as refused:
                    self.run_graph(graph, 20)
                assert refused.value.pe_id == remembers.id
                assert "(seen)" in str(refused.value) and "stateful = True" in str(refused.value)
                continue
            split = watched and self.plan_for(graph).instances[remembers.id] > 1
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = self.run_graph(graph, 20)
            noticed = [w for w in caught if issubclass(w.category, UndeclaredStateWarning)]
            assert sorted(result.outputs[remembers.id]["output"]) == list(range(1, 21))
            if split:
                assert len(noticed) == 1 and len(result.warnings) == 1, result.warnings
                assert remembers.id in result.warnings[0] and "(seen)" in result.warnings[0]
            else:
                assert not noticed and not result.warnings, result.warnings

    @pytest.mark.timeout(300)
    @pytest.mark.parametrize("how", ["script", pytest.param("stdin", marks=pytest.mark.slow)])
    def test_workflow_defined_in_main(self, how: str, tmp_path: Path) -> None:
        """Troubleshooting: PEs defined in the script the user runs (``python
        wf.py``) or in a ``__main__`` with no file (``python - < wf.py``, a
        notebook, the REPL) reach every worker of the mapping."""
        if self.mapping not in available_mappings():
            pytest.skip(f"{self.mapping!r} is not installed: a fresh interpreter cannot load it")
        source = MAIN_WORKFLOW.format(
            mapping=self.mapping, processes=self.processes, options=self.options
        )
        script = tmp_path / "my_workflow.py"
        script.write_text(source)
        command = [sys.executable, str(script)] if how == "script" else [sys.executable, "-"]
        completed = subprocess.run(
            command,
            input=source if how == "stdin" else None,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=subprocess_env(),
            timeout=280,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        assert json.loads(completed.stdout.splitlines()[-1]) == [1, 4, 9, 16, 25, 36]

    @pytest.mark.timeout(120)
    def test_process_seconds_alive(self) -> None:
        """Troubleshooting: ``RunResult.process_seconds`` (process-seconds
        alive, the cost that compares fixed and elastic mappings) is
        measured by every mapping: at least the seconds the PEs were busy
        (they ran inside those processes), at most every process counted
        alive for the whole run (``extra["placement"]`` or
        ``extra["processes_started"]`` counts them), and at least the run's
        elapsed time where the processes span the run."""
        graph = WorkflowGraph()
        producer, first, second = CountingProducer(), PassThrough(numprocesses=2), PassThrough()
        graph.connect(producer, "output", first, "input")
        graph.connect(first, "output", second, "input")
        result = self.run_graph(graph, 200)
        assert sorted(result.outputs[second.id]["output"]) == list(range(1, 201))
        seconds, elapsed = result.process_seconds, result.elapsed_seconds
        busy = sum(m.busy_seconds for m in result.metrics.values())
        assert 0 < busy <= seconds, (busy, seconds)
        counted = _processes_counted(result)
        if counted is not None:
            assert seconds <= counted * elapsed, (seconds, counted, elapsed)
        if self.processes_span_the_run:
            assert seconds >= elapsed, (seconds, elapsed)

    def test_no_silent_overrides(self) -> None:
        """A subclass may not replace a test of the suite unless it marks the
        override ``xfail`` or ``skip`` with a reason (the gap stays visible)."""
        silent = []
        for name, base in vars(MappingConformance).items():
            if not name.startswith("test_") or name == "test_no_silent_overrides":
                continue
            override = getattr(type(self), name)
            if override is base:
                continue
            marks = [m for m in getattr(override, "pytestmark", []) if m.name in ("xfail", "skip")]
            if not any(m.kwargs.get("reason") or m.args for m in marks):
                silent.append(name)
        assert not silent, (
            f"{type(self).__name__} overrides {silent} without xfail/skip(reason=...)"
        )

    def test_result_metrics(self) -> None:
        graph = CASES[0].build()
        result = self.run_graph(graph, 7)
        assert result.mapping == self.mapping
        assert result.metrics["PassThrough5"].items_in == 7
        assert result.metrics["PassThrough5"].items_out == 7
        assert result.metrics["CountingProducer0"].process_calls == 7
