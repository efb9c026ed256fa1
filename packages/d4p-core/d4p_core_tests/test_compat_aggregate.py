"""dispel4py's PE libraries in the compatibility layer: ``dispel4py.new.aggregate``
and ``dispel4py.new.monitoring``, on ``simple`` and ``multi``.

The expected values are those of dispel4py's own ``aggregate_test.py``
(1000 items ``[0] .. [999]``: sum 499500, average ``[499.5, 1000, 499500]``...)
and exact arithmetic; every composite gives the same answer whatever the
number of its partial instances, idle ones included. Every mapping is covered
by ``integration-tests/test_compat_libraries.py``.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import inspect
import math
import pickle
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from d4p_core import GenericPE, IterativePE, Plan, RunError, WorkflowGraph, run
from d4p_core.compat import _aggregate, _monitoring, _parallel, _statistics
from d4p_core.compat._aggregate import ContinuousReducePE, CountPE, MaxPE, MinPE, SumPE
from d4p_core.compat._monitoring import MonitoringWrapper, ProcessTimingPE, Timer
from d4p_core.compat._parallel import (
    parallel_aggregate,
    parallel_avg,
    parallel_count,
    parallel_max,
    parallel_min,
    parallel_std_dev,
    parallel_sum,
)
from d4p_core.compat._statistics import StdDevReducePE
from d4p_core.testing.processes import subprocess_env

REPO = Path(__file__).resolve().parents[3]
DISPEL4PY = (
    REPO / "benchmarks" / ".venv-d4py" / "lib" / "python3.11" / "site-packages" / "dispel4py"
)


# -- PEs ------------------------------------------------------------------------------
class Rows(GenericPE):
    """A source writing the given items, all on its first call."""

    def __init__(self, rows: Sequence[Any]) -> None:
        super().__init__()
        self._add_output("output")
        self.rows = list(rows)

    def _process(self, inputs: Any) -> None:
        for row in self.rows:
            self.write("output", row)


class Double(IterativePE):
    def _process(self, data: Any) -> Any:
        return [2 * data[0]]


class Running(ContinuousReducePE):
    """dispel4py's ContinuousReducePE test PE: a running sum per index."""

    def _process(self, data: Any) -> None:
        for j, index in enumerate(self.indexes):
            self.value[j] += data[index]


class Remember(IterativePE):
    """Keeps undeclared state (what it has seen) in a plain attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []

    def _process(self, data: Any) -> Any:
        self.seen.append(data)
        return data


class Negate(MonitoringWrapper):
    """A wrapper of one's own, written as in dispel4py (``self.baseObject``)."""

    def process(self, inputs: dict[str, Any]) -> dict[str, Any] | None:
        result = self.baseObject.process(inputs)
        return {name: [-value[0]] for name, value in result.items()}


# -- helpers ------------------------------------------------------------------------------
Factory = Callable[[], WorkflowGraph]


def aggregate(factory: Factory, rows: Sequence[Any], partials: int = 1) -> WorkflowGraph:
    """``Rows(rows) -> factory()``, the composite's partial stage given ``partials`` instances."""
    composite = factory()
    assert composite.inputmappings is not None
    partial, _ = composite.inputmappings["input"]
    assert isinstance(partial, GenericPE)
    partial.numprocesses = partials
    graph = WorkflowGraph()
    graph.connect(Rows(rows), "output", composite, "input")
    return graph


def results(graph: WorkflowGraph, mapping: str = "simple", processes: int | None = None) -> Any:
    """What the graph's one result-writing PE wrote (its id left out)."""
    outputs = run(graph, mapping, processes=processes).outputs
    values = [value for by_output in outputs.values() for value in by_output.get("output", [])]
    assert len(outputs) <= 1, outputs
    return values


THOUSAND = [[i] for i in range(1000)]

# (name, factory, expected result for THOUSAND): dispel4py's aggregate_test values.
EXPECTED: list[tuple[str, Factory, list[Any]]] = [
    ("sum", parallel_sum, [[499500]]),
    ("count", parallel_count, [[1000]]),
    ("min", parallel_min, [[0]]),
    ("max", parallel_max, [[999]]),
    ("avg", parallel_avg, [[499.5, 1000, 499500]]),
    ("std_dev", parallel_std_dev, [(math.sqrt(1000 * 1001 / 12), 1000, 499500, 332833500)]),
]
FACTORIES = [(name, factory) for name, factory, _ in EXPECTED]

# Where each mapping runs: simple, and multi with 1 and with 3 partial
# instances (multi needs a process per instance: source, partials, global stage).
PLACES = [("simple", None, 1), ("multi", 3, 1), ("multi", 5, 3)]


# -- the parallel aggregates ----------------------------------------------------------------
@pytest.mark.parametrize(("mapping", "processes", "partials"), PLACES)
@pytest.mark.parametrize(("name", "factory", "expected"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_parallel_aggregates_give_dispel4pys_answers(
    name: str,
    factory: Factory,
    expected: list[Any],
    mapping: str,
    processes: int | None,
    partials: int,
) -> None:
    graph = aggregate(factory, THOUSAND, partials)
    assert results(graph, mapping, processes) == expected


@pytest.mark.parametrize(("mapping", "processes", "partials"), PLACES)
@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=[f[0] for f in FACTORIES])
def test_idle_partial_instances_write_nothing(
    name: str, factory: Factory, mapping: str, processes: int | None, partials: int
) -> None:
    # Two items for three partial instances: dispel4py wrote an extra [0],
    # [None] or divided by zero for the idle one.
    expected = {
        "sum": [[10]],
        "count": [[2]],
        "min": [[3]],
        "max": [[7]],
        "avg": [[5.0, 2, 10]],
        "std_dev": [(math.sqrt(8), 2, 10, 58)],
    }[name]
    assert results(aggregate(factory, [[3], [7]], partials), mapping, processes) == expected


@pytest.mark.parametrize(("name", "factory"), FACTORIES, ids=[f[0] for f in FACTORIES])
def test_an_empty_stream_has_a_sum_and_a_count_only(name: str, factory: Factory) -> None:
    expected = {"sum": [[0]], "count": [[0]]}.get(name, [])
    assert results(aggregate(factory, [], 3), "multi", 5) == expected


def test_the_deviation_of_one_item_is_nan() -> None:
    [(std_dev, count, total, squares)] = results(aggregate(parallel_std_dev, [[4]]))
    assert math.isnan(std_dev) and (count, total, squares) == (1, 4, 16)


def test_aggregates_read_any_indexes_by_position() -> None:
    rows = [[i, 10 * i, -i] for i in range(1, 6)]
    assert results(aggregate(lambda: parallel_sum([2, 1]), rows, 3), "multi", 5) == [[-15, 150]]
    assert results(aggregate(lambda: parallel_min([1, 2]), rows)) == [[10, -5]]
    assert results(aggregate(lambda: parallel_max([2]), rows)) == [[-1]]  # dispel4py: 0
    assert results(aggregate(lambda: parallel_avg(1), rows)) == [[30.0, 5, 150]]
    dicts = [{"price": p} for p in (2, 3, 5)]
    assert results(aggregate(lambda: parallel_sum(["price"]), dicts)) == [[10]]


@pytest.mark.parametrize(("mapping", "processes", "partials"), PLACES)
def test_float_deviation_keeps_its_precision(
    mapping: str, processes: int | None, partials: int
) -> None:
    # Large offset, small spread: the sum-of-squares formula loses every digit.
    values = [1e9 + x / 7 for x in range(200)]
    [(std_dev, count, total, _)] = results(
        aggregate(parallel_std_dev, [[v] for v in values], partials), mapping, processes
    )
    assert std_dev == pytest.approx(statistics.stdev(values), rel=1e-9)
    assert count == 200 and total == pytest.approx(math.fsum(values), rel=1e-15)


def test_the_partial_stage_is_stateless_and_the_global_stage_has_one_instance() -> None:
    graph = aggregate(parallel_sum, THOUSAND, 3)
    plan = Plan.build(graph, 5)
    assert plan.instances == {"Rows0": 1, "SumPE0": 3, "SumPE1": 1}
    assert plan.stateful == {"SumPE1"} and plan.global_only == {"SumPE1"}


def test_partial_instances_are_not_reported_as_split_state(
    recwarn: pytest.WarningsRecorder,
) -> None:
    graph = aggregate(parallel_count, THOUSAND, 3)
    assert results(graph, "multi", 5) == [[1000]]
    assert not [w for w in recwarn if "changes its attributes" in str(w.message)]


def test_parallel_aggregate_combines_pes_of_ones_own() -> None:
    composite = parallel_aggregate(MaxPE([0]), MaxPE([0]))
    graph = WorkflowGraph()
    graph.connect(Rows([[5], [-2], [9]]), "output", composite, "input")
    assert results(graph, "multi", 5) == [[9]]


def test_the_dispel4py_spellings_are_the_same_functions() -> None:
    for old, new in [
        ("parallelCount", "parallel_count"),
        ("parallelSum", "parallel_sum"),
        ("parallelMin", "parallel_min"),
        ("parallelMax", "parallel_max"),
        ("parallelAvg", "parallel_avg"),
        ("parallelStdDev", "parallel_std_dev"),
    ]:
        assert getattr(_parallel, old) is getattr(_parallel, new)


# -- the aggregate PEs on their own ------------------------------------------------------------
@pytest.mark.parametrize(
    ("pe", "expected"),
    [(SumPE(), [[499500]]), (CountPE(), [[1000]]), (MinPE(), [[0]]), (MaxPE(), [[999]])],
    ids=["sum", "count", "min", "max"],
)
def test_an_aggregate_on_its_own_is_one_stateful_instance(pe: GenericPE, expected: Any) -> None:
    graph = WorkflowGraph()
    graph.connect(Rows(THOUSAND), "output", pe, "input")
    plan = Plan.build(graph, 4)
    assert plan.instances[pe.id] == 1 and pe.id in plan.stateful
    assert results(graph, "multi", 4) == expected


def test_a_min_or_max_of_nothing_writes_nothing_but_a_sum_writes_zero() -> None:
    for pe, expected in [(MinPE(), []), (MaxPE(), []), (SumPE([0, 1]), [[0, 0]])]:
        graph = WorkflowGraph()
        graph.connect(Rows([]), "output", pe, "input")
        assert results(graph) == expected


@pytest.mark.parametrize(("mapping", "processes"), [("simple", None), ("multi", 4)])
def test_continuous_reduce_writes_the_running_value_after_every_item(
    mapping: str, processes: int | None
) -> None:
    graph = WorkflowGraph()
    graph.connect(Rows([[i, 1] for i in range(5)]), "output", Running([0, 1]), "input")
    assert results(graph, mapping, processes) == [[0, 1], [1, 2], [3, 3], [6, 4], [10, 5]]
    assert Plan.build(graph, 4).stateful == {"Running1"}


def test_continuous_reduce_as_in_dispel4pys_test() -> None:
    graph = WorkflowGraph()
    graph.connect(Rows([[0]] * 5), "output", Running(), "input")
    assert results(graph) == [[0]] * 5


def test_an_item_without_the_index_fails_the_run_naming_pe_and_item() -> None:
    with pytest.raises(RunError) as failure:
        run(aggregate(parallel_sum, [7]))
    assert failure.value.pe_id == "SumPE0"
    assert "aggregates element 0 of each item, but the item 7 has none" in str(failure.value)


def test_std_dev_reduce_refuses_what_std_dev_pe_does_not_write() -> None:
    graph = WorkflowGraph()
    graph.connect(Rows([(3, 10, 40)]), "output", StdDevReducePE(), "input")
    with pytest.raises(RunError, match=r"combines what StdDevPE writes"):
        run(graph)


# -- monitoring ------------------------------------------------------------------------------
TIMED_RUN = """
import sys
import d4p_core
from d4p_core.compat._monitoring import ProcessTimingPE
from d4p_core.testing.pes import CountingProducer, PassThrough

mapping, processes, start_method = sys.argv[1], sys.argv[2], sys.argv[3]
timed = ProcessTimingPE(PassThrough())
graph = d4p_core.WorkflowGraph()
graph.connect(CountingProducer(), "output", timed, "input")
options = {} if start_method == "-" else {"start_method": start_method}
if processes != "-":
    timed.numprocesses = 3
    options["processes"] = int(processes)
result = d4p_core.run(graph, mapping, inputs=10, **options)
print(sorted(result.outputs[timed.id]["output"]), timed.id)
"""


@pytest.mark.parametrize(
    ("mapping", "processes", "start_method"),
    [("simple", "-", "-"), ("multi", "4", "fork"), ("multi", "4", "spawn")],
    ids=["simple", "multi", "multi-spawn"],
)
def test_a_timed_pe_gives_the_same_results_and_logs_its_average(
    mapping: str, processes: str, start_method: str
) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", TIMED_RUN, mapping, processes, start_method],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    outputs, pe_id = completed.stdout.rsplit(" ", 1)
    assert outputs == str(list(range(1, 11)))
    logged = [line for line in completed.stderr.splitlines() if "processing time" in line]
    assert logged, completed.stderr
    assert all(line.startswith(f"{pe_id.strip()} (rank ") for line in logged), logged
    assert all(": Average processing time: " in line for line in logged), logged
    calls = [int(line.split("(")[2].split()[0]) for line in logged]
    assert sum(calls) == 10 and all(calls)  # an idle instance logs nothing
    # Its timing is per copy on purpose: not reported as split state.
    assert "changes its attributes" not in completed.stderr


def test_a_timed_aggregate_still_writes_its_result() -> None:
    # dispel4py's wrapper replaced the PE's _postprocess: no result at all.
    graph = WorkflowGraph()
    graph.connect(Rows(THOUSAND), "output", ProcessTimingPE(SumPE()), "input")
    assert results(graph, "multi", 2) == [[499500]]


def test_a_timed_pe_survives_pickling_and_copying() -> None:
    timed = ProcessTimingPE(SumPE([0]))
    assert isinstance(timed, SumPE)
    timed.process({"input": [4]})
    for copied in (pickle.loads(pickle.dumps(timed)), copy.deepcopy(timed)):
        assert type(copied) is type(timed) and isinstance(copied, SumPE)
        assert copied.value == [4] and copied.times_count == 1
        assert copied.value is not timed.value


def test_wrapping_something_else_or_twice_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="wraps a PE"):
        ProcessTimingPE(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="already wrapped by ProcessTimingPE"):
        ProcessTimingPE(ProcessTimingPE(Double()))


def test_wrappers_of_ones_own_reach_the_pe_through_base_object() -> None:
    graph = WorkflowGraph()
    graph.connect(Rows([[1], [2]]), "output", Negate(Double()), "input")
    assert results(graph, "multi", 2) == [[-2], [-4]]
    # Wrapped again: baseObject is the timed PE, whose calls are timed.
    both = Negate(ProcessTimingPE(Double()))
    assert both.process({"input": [1]}) == {"output": [-2]}
    assert isinstance(both, ProcessTimingPE) and both.times_count == 1


def test_timer_measures_a_block() -> None:
    with Timer() as timer:
        sum(range(1000))
    assert timer.secs >= 0 and timer.end >= timer.start > 0


# -- the dispel4py modules ------------------------------------------------------------------------
@pytest.mark.skipif(
    importlib.util.find_spec("dispel4py") is not None,
    reason="the real dispel4py is installed; the compat layer stays off",
)
def test_the_dispel4py_modules_provide_the_libraries_after_install() -> None:
    code = textwrap.dedent(
        """
        from d4p_core.compat import install
        assert install()
        from dispel4py.new.aggregate import (
            AggregatePE, AverageParallelPE, AverageReducePE, ContinuousReducePE, CountPE,
            MaxPE, MinPE, StdDevPE, StdDevReducePE, SumPE, parallel_aggregate, parallel_avg,
            parallel_count, parallel_max, parallel_min, parallel_std_dev, parallel_sum,
            parallelAvg, parallelCount, parallelMax, parallelMin, parallelStdDev, parallelSum,
        )
        from dispel4py.new.monitoring import MonitoringWrapper, ProcessTimingPE, Timer
        from dispel4py.new import simple_process
        from dispel4py.workflow_graph import WorkflowGraph
        from dispel4py.core import GenericPE

        class NumberProducer(GenericPE):
            def __init__(self, n):
                GenericPE.__init__(self)
                self._add_output("output")
                self.n = n
            def _process(self, inputs):
                for i in range(self.n):
                    self.write("output", [i])

        graph = WorkflowGraph()
        prod = NumberProducer(1000)
        graph.connect(prod, "output", parallelSum(), "input")
        print(simple_process.process_and_return(graph, {prod: 1}))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines()[-1] == "{'SumPE1': {'output': [[499500]]}}"


def _public_signatures(path: Path) -> dict[str, list[str] | None]:
    """Public top-level classes and functions of a dispel4py source file, with
    the parameters (and defaults) of the function or the class's __init__."""
    found: dict[str, list[str] | None] = {}
    for node in ast.parse(path.read_text()).body:
        target: ast.FunctionDef | None = None
        if isinstance(node, ast.FunctionDef):
            target = node
        elif isinstance(node, ast.ClassDef):
            inits = [
                n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"
            ]
            target = inits[0] if inits else None
        else:
            continue
        if node.name.startswith("_"):
            continue
        if target is None:  # the class inherits its __init__
            found[node.name] = None
            continue
        args = target.args.args[1:] if isinstance(node, ast.ClassDef) else target.args.args
        defaults: list[ast.expr | None] = [None] * (len(args) - len(target.args.defaults))
        defaults += target.args.defaults
        found[node.name] = [
            arg.arg + ("" if default is None else "=" + ast.unparse(default))
            for arg, default in zip(args, defaults, strict=True)
        ]
    return found


def _our_parameters(obj: Any) -> list[str]:
    function = obj.__init__ if inspect.isclass(obj) else obj
    parameters = list(inspect.signature(function).parameters.values())
    if inspect.isclass(obj):
        parameters = parameters[1:]
    return [p.name + ("" if p.default is p.empty else f"={p.default!r}") for p in parameters]


@pytest.mark.skipif(not DISPEL4PY.is_dir(), reason="no dispel4py source in benchmarks/.venv-d4py")
@pytest.mark.parametrize(
    ("source", "modules", "left_out"),
    [
        ("aggregate.py", (_aggregate, _statistics, _parallel), set()),
        ("monitoring.py", (_monitoring,), {"ReadTimingWrapper"}),
    ],
)
def test_names_and_signatures_are_dispel4pys(
    source: str, modules: tuple[Any, ...], left_out: set[str]
) -> None:
    theirs = _public_signatures(DISPEL4PY / "new" / source)
    ours = {name: getattr(m, name) for m in modules for name in m.__all__}
    assert set(theirs) - set(ours) == left_out
    for name in set(theirs) - left_out:
        if theirs[name] is not None:
            assert _our_parameters(ours[name]) == theirs[name], name
