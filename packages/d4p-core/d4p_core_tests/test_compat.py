"""The dispel4py compatibility layer (``d4p_core.compat``).

Everything that imports ``dispel4py`` runs in a fresh interpreter, so the
modules ``install()`` registers never leak into other tests. The workflows in
``dispel4py_workflows/`` are written exactly as a dispel4py user writes them;
the expected results are those of dispel4py's own tests.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import d4p_core

SRC = Path(d4p_core.__file__).resolve().parent.parent
WORKFLOWS = Path(__file__).resolve().parent / "dispel4py_workflows"
RESULT_MARK = "@@result@@ "

REAL_DISPEL4PY = importlib.util.find_spec("dispel4py") is not None
needs_compat = pytest.mark.skipif(
    REAL_DISPEL4PY, reason="the real dispel4py is installed; the compat layer stays off"
)

PRELUDE = f"""
import sys
from d4p_core.compat import install

INSTALLED = install()

def emit(value):
    print({RESULT_MARK!r} + repr(value))
"""


@dataclass(frozen=True)
class Ran:
    stdout: str
    stderr: str
    result: Any


def run_python(
    code: str,
    *,
    path: tuple[Path, ...] = (WORKFLOWS,),
    env: Mapping[str, str] | None = None,
) -> Ran:
    """Run ``code`` (after PRELUDE) in a fresh interpreter; ``emit(v)`` returns ``v``."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (SRC, *path))
    completed = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results = [
        line[len(RESULT_MARK) :]
        for line in completed.stdout.splitlines()
        if line.startswith(RESULT_MARK)
    ]
    result = ast.literal_eval(results[-1]) if results else None
    return Ran(completed.stdout, completed.stderr, result)


# -- install() -------------------------------------------------------------------


@needs_compat
def test_install_registers_dispel4py_modules_backed_by_d4p() -> None:
    ran = run_python(
        """
        assert INSTALLED is True
        assert install() is True  # idempotent
        import d4p_core
        import dispel4py
        import dispel4py.new.simple_process
        from dispel4py.base import (
            BasePE, CompositePE, ConsumerPE, IterativePE, ProducerPE, SimpleFunctionPE,
            create_iterative_chain,
        )
        from dispel4py.core import DESCRIPTION, GROUPING, META, NAME, TYPE, WRITER, GenericPE
        from dispel4py.new import processor, simple_process
        from dispel4py.utils import load_graph, make_hash
        from dispel4py.workflow_graph import WorkflowGraph, draw, drawDot, write_image

        assert GenericPE is d4p_core.GenericPE and WorkflowGraph is d4p_core.WorkflowGraph
        assert IterativePE is d4p_core.IterativePE and CompositePE is d4p_core.CompositePE
        assert dispel4py.new.simple_process is simple_process
        assert callable(processor.create_inputs) and callable(processor.get_inputs)
        emit({
            "constants": [NAME, TYPE, GROUPING, WRITER, DESCRIPTION, META],
            "modules": sorted(m for m in sys.modules if m.startswith("dispel4py")),
            "core_all": sorted(sys.modules["dispel4py.core"].__all__),
            "names": [dispel4py.__name__, simple_process.__name__],
        })
        """
    )
    assert ran.result["constants"] == ["name", "type", "grouping", "writer", "descr", "meta"]
    assert ran.result["modules"] == [
        "dispel4py",
        "dispel4py.base",
        "dispel4py.core",
        "dispel4py.new",
        "dispel4py.new.aggregate",
        "dispel4py.new.monitoring",
        "dispel4py.new.processor",
        "dispel4py.new.simple_process",
        "dispel4py.utils",
        "dispel4py.workflow_graph",
    ]
    assert "GenericPE" in ran.result["core_all"]
    assert ran.result["names"] == ["dispel4py", "dispel4py.new.simple_process"]


def test_install_does_nothing_when_the_real_dispel4py_is_importable(tmp_path: Path) -> None:
    real = tmp_path / "dispel4py"
    real.mkdir()
    (real / "__init__.py").write_text("REAL = True\n")
    ran = run_python(
        """
        assert "dispel4py" not in sys.modules  # found, never imported by install()
        import dispel4py
        emit([INSTALLED, install(), dispel4py.REAL])
        """,
        path=(tmp_path,),
    )
    assert ran.result == [False, False, True]


@needs_compat
def test_modules_the_layer_does_not_provide_fail_with_a_clear_message() -> None:
    ran = run_python(
        """
        try:
            import dispel4py.new.multi_process
        except ModuleNotFoundError as exc:
            emit([exc.name, str(exc)])
        """
    )
    name, message = ran.result
    assert name == "dispel4py.new.multi_process"
    assert "compatibility layer provides only" in message
    assert "dispel4py.new.simple_process" in message


# -- dispel4py's simple_process tests, on unmodified dispel4py workflows --------------


def run_graph(factory: str, inputs: str) -> Any:
    """``process_and_return`` on ``graph_testing_wf.<factory>()``; ``prod`` is its producer."""
    return run_python(
        f"""
        import graph_testing_wf
        from dispel4py.new import simple_process

        graph = graph_testing_wf.{factory}()
        prod = [pe for pe in graph.getContainedObjects() if pe.name == "TestProducer"][0]
        emit(simple_process.process_and_return(graph, {inputs}))
        """
    ).result


@needs_compat
def test_pipeline() -> None:
    expected = {"TestOneInOneOut2": {"output": [1, 2, 3, 4, 5]}}
    assert run_graph("pipeline", "{prod: [{}, {}, {}, {}, {}]}") == expected


@needs_compat
def test_square() -> None:
    assert run_graph("square", "{prod: 1}") == {"TestTwoInOneOut3": {"output": ["1", "1"]}}


@needs_compat
def test_tee() -> None:
    assert run_graph("tee", "{prod: 5}") == {
        "TestOneInOneOut1": {"output": [1, 2, 3, 4, 5]},
        "TestOneInOneOut2": {"output": [1, 2, 3, 4, 5]},
    }


@needs_compat
def test_writer_with_grouping_set_after_construction() -> None:
    assert run_graph("writer", "{prod: 5}") == {
        "TestOneInOneOutWriter1": {"output": [1, 2, 3, 4, 5]}
    }


@needs_compat
def test_create_iterative_chain() -> None:
    results = run_graph("chain", "{prod: 2}")
    assert list(results.values()) == [{"output": [False, True]}]


@needs_compat
def test_composite_maps_input_and_output() -> None:
    results = run_graph("composite", "{prod: 10}")
    assert list(results.values()) == [{"output": list(range(1, 11))}]


@needs_compat
def test_composite_with_create_params_delivers_each_value_twice() -> None:
    # Two parallel connections: each keeps its order, their interleaving is
    # the engine's (blocks travel one route, then the other).
    results = run_graph("composite_with_params", "{prod: 10}")
    [outputs] = results.values()
    assert sorted(outputs["output"]) == [i for i in range(1, 11) for _ in (0, 1)]


@needs_compat
def test_inputs_keyed_by_id_or_name() -> None:
    expected = {"TestOneInOneOut2": {"output": [1, 2, 3]}}
    assert run_graph("pipeline", "{prod.id: 3}") == expected
    assert run_graph("pipeline", "{'TestProducer': 3}") == expected


@needs_compat
def test_result_mappings_select_outputs() -> None:
    assert run_graph("tee", "{prod: 2}, {'TestOneInOneOut1': []}") == {
        "TestOneInOneOut1": {},
        "TestOneInOneOut2": {"output": [1, 2]},
    }


@needs_compat
def test_failing_pe_raises_run_error() -> None:
    ran = run_python(
        """
        import graph_testing_wf
        from d4p_core import RunError
        from dispel4py.new import simple_process

        try:
            simple_process.process_and_return(graph_testing_wf.failing(), {"TestProducer": 5})
        except RunError as exc:
            emit([exc.pe_id, str(exc)])
        """
    )
    pe_id, message = ran.result
    assert pe_id == "Fail1"
    assert "cannot handle 3" in message


@needs_compat
def test_process_prints_inputs_and_outputs_of_a_workflow_file() -> None:
    ran = run_python(
        f"""
        from dispel4py.new import simple_process
        from dispel4py.utils import load_graph

        graph = load_graph({str(WORKFLOWS / "pipeline_wf.py")!r})
        prod = [pe for pe in graph.getContainedObjects() if pe.name == "TestProducer"][0]
        emit(simple_process.process(graph, {{prod: 5}}))
        """,
        path=(),
    )
    assert "Inputs: {'TestProducer0': 5}\n" in ran.stdout
    assert "Outputs: {'TestOneInOneOut5': {'output': [1, 2, 3, 4, 5]}}\n" in ran.stdout
    assert ran.result is None


# -- dispel4py.new.processor -------------------------------------------------------


def run_processor(args: str, code: str = "emit(inputs)") -> Ran:
    setup = f"""
        from argparse import Namespace
        from dispel4py.new.processor import create_inputs, get_inputs, load_graph_and_inputs

        args = Namespace(module={str(WORKFLOWS / "pipeline_wf.py")!r}, attr=None, {args})
        graph, inputs = load_graph_and_inputs(args)
        """
    return run_python(textwrap.dedent(setup) + textwrap.dedent(code))


@needs_compat
def test_load_graph_and_inputs_defaults_to_one_iteration_per_root() -> None:
    ran = run_processor("file=None, data=None, iter=1")
    assert ran.result == {"TestProducer0": 1}
    assert "Processing 1 iteration.\n" in ran.stdout


@needs_compat
def test_create_inputs_from_iterations() -> None:
    ran = run_processor("file=None, data=None, iter=3")
    assert ran.result == {"TestProducer0": 3}
    assert "Processing 3 iterations.\n" in ran.stdout


@needs_compat
def test_create_inputs_from_data_maps_names_to_ids() -> None:
    ran = run_processor("""file=None, data='{"TestProducer": 20}', iter=1""")
    assert ran.result == {"TestProducer0": 20}


@needs_compat
def test_create_inputs_from_file(tmp_path: Path) -> None:
    path = tmp_path / "inputs.json"
    path.write_text('{"TestProducer0": [{}, {}]}')
    assert run_processor(f"file={str(path)!r}, data='ignored', iter=1").result == {
        "TestProducer0": [{}, {}]
    }


@needs_compat
def test_create_inputs_rejects_bad_json_and_missing_files_with_value_error(
    tmp_path: Path,
) -> None:
    ran = run_processor(
        "file=None, data=None, iter=1",
        f"""
        errors = []
        for bad in (
            Namespace(file=None, data="{{not json", iter=1),
            Namespace(file={str(tmp_path / "missing.json")!r}, data=None, iter=1),
        ):
            try:
                create_inputs(bad, graph)
            except ValueError as exc:
                errors.append(str(exc))
        emit(errors)
        """,
    )
    assert len(ran.result) == 2
    assert "does not exist" in ran.result[1]


@needs_compat
def test_get_inputs_by_object_name_or_id() -> None:
    ran = run_processor(
        "file=None, data=None, iter=1",
        """
        prod = [pe for pe in graph.getContainedObjects() if pe.name == "TestProducer"][0]
        emit([
            get_inputs(prod, {prod: 1}),
            get_inputs(prod, {"TestProducer": 2}),
            get_inputs(prod, {"TestProducer0": 3}),
            get_inputs(prod, {"other": 4}),
        ])
        """,
    )
    assert ran.result == [1, 2, 3, None]


@needs_compat
def test_word_count_runs_from_data_with_a_grouping_set_after_construction(
    tmp_path: Path,
) -> None:
    text = "The cat and the dog\nA dog and THE bird\nno cat\n"
    path = tmp_path / "words.txt"
    path.write_text(text)
    ran = run_python(
        f"""
        from argparse import Namespace
        from d4p_core import Plan
        from dispel4py.new import simple_process
        from dispel4py.new.processor import load_graph_and_inputs

        data = {json.dumps({"read": [{"input": str(path)}]})!r}
        args = Namespace(
            module={str(WORKFLOWS / "wordcount_wf.py")!r}, attr=None, file=None, data=data, iter=1,
        )
        graph, inputs = load_graph_and_inputs(args)
        plan = Plan.build(graph)
        emit([
            sorted(inputs),
            sorted(plan.stateful),
            simple_process.process_and_return(graph, inputs),
        ])
        """,
        path=(),
    )
    keys, stateful, results = ran.result
    assert keys == ["read0"]
    assert stateful == ["CountWords3"]
    expected = Counter(word for word in text.lower().split() if len(word) >= 3)
    assert results == {"CountWords3": {"output": sorted(expected.items())}}


# -- dispel4py.utils and dispel4py.workflow_graph ------------------------------------


@needs_compat
def test_make_hash_is_stable_across_interpreters() -> None:
    code = """
        from dispel4py.utils import make_hash
        emit([make_hash(("word", 1, [2.5, None], {"k": "v"})), make_hash("word")])
        """
    first = run_python(code, env={"PYTHONHASHSEED": "1"}).result
    second = run_python(code, env={"PYTHONHASHSEED": "2"}).result
    assert first == second
    assert first[1] == d4p_core.stable_hash("word")


@needs_compat
def test_load_graph_with_attribute() -> None:
    ran = run_python(
        f"""
        from dispel4py.utils import load_graph
        graph = load_graph({str(WORKFLOWS / "graph_testing_wf.py")!r}, "tee")
        emit([pe.id for pe in graph.getContainedObjects()])
        """,
        path=(),
    )
    assert ran.result == ["TestOneInOneOut1", "TestOneInOneOut2", "TestProducer0"]


@needs_compat
def test_drawing(tmp_path: Path) -> None:
    image = tmp_path / "graph.dot"
    ran = run_python(
        f"""
        import graph_testing_wf
        from dispel4py.workflow_graph import WorkflowGraph, draw, drawDot, write_image
        from dispel4py.base import CompositePE
        from testing_pes import TestOneInOneOut, TestProducer

        pipeline = graph_testing_wf.pipeline()
        write_image(pipeline, {str(image)!r}, "dot")

        comp = CompositePE()
        inner = TestOneInOneOut()
        comp._map_input("input", inner, "input")
        comp._map_output("output", inner, "output")
        graph = WorkflowGraph()
        graph.connect(TestProducer(), "output", comp, "input")
        emit([draw(pipeline), drawDot(pipeline, "dot"), draw(graph)])
        """
    )
    dot, dot_bytes, composite = ran.result
    assert dot.startswith("digraph")
    assert "TestOneInOneOut1" in dot
    assert dot_bytes == dot.encode()
    assert image.read_text() == dot
    assert "subgraph cluster_" in composite
